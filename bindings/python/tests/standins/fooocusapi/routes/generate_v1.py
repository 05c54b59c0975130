# Stand-in for fooocusapi/routes/generate_v1.py: the router captures api_key_auth when it is imported
# (APIRouter(dependencies=[Depends(api_key_auth)])), which is why install() must run before this import.
from fastapi import Depends
from fooocusapi.utils.api_utils import api_key_auth, call_worker

ROUTER_DEPENDENCIES = [Depends(api_key_auth)]


def text2img(req, x_api_key=None, webhook_url=None):
    """What FastAPI does for POST /v1/generation/text-to-image: run the dependencies, then the handler."""
    for dependency in ROUTER_DEPENDENCIES:
        dependency(apikey=x_api_key)
    return call_worker(req, webhook_url=webhook_url)
