# Stand-in for modules/config.py (Fooocus 2.5.5): the members the hooks and AsyncTask read. The tests set the
# paths; upstream reads them from config.txt.
import os
import tempfile

paths_checkpoints = []
paths_loras = []
path_outputs = os.path.join(os.environ.get('FA_STANDIN_OUTPUTS') or tempfile.gettempdir(), 'fooocus-outputs')
default_black_out_nsfw = False
default_max_lora_number = 5
default_controlnet_image_count = 4
default_enhance_tabs = 3
