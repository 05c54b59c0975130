# Stand-in for modules/flags.py (Fooocus 2.5.5): Performance and the lists AsyncTask.__init__ imports.
from enum import Enum

disabled = 'Disabled'
ip_list = ['ImagePrompt', 'FaceSwap', 'PyraCanny', 'CPDS']


class MetadataScheme(Enum):
    FOOOCUS = 'fooocus'
    A1111 = 'a1111'


class Performance(Enum):
    QUALITY = 'Quality'
    SPEED = 'Speed'
    EXTREME_SPEED = 'Extreme Speed'
    LIGHTNING = 'Lightning'
    HYPER_SD = 'Hyper-SD'

    def steps(self):
        return {'Quality': 60, 'Speed': 30, 'Extreme Speed': 8, 'Lightning': 4, 'Hyper-SD': 4}[self.value]
