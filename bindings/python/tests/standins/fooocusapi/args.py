# Stand-in for fooocusapi/args.py: the parsed command line (only --apikey matters here).
import types

args = types.SimpleNamespace(apikey=None, queue_size=100, queue_history=0, webhook_url=None, persistent=False)
