# Stand-in for Fooocus args_manager: only the flags AsyncTask.__init__ reads.
import types

args = types.SimpleNamespace(disable_image_log=False, disable_metadata=False)
