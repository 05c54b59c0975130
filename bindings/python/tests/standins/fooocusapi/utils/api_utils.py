# Stand-in for fooocusapi/utils/api_utils.py (Fooocus-API 0.5.0.1): api_key_auth (the X-API-KEY check) and
# call_worker (worker_queue.add_task; None means the queue is full).
from fastapi import HTTPException, Security
from fastapi.security import APIKeyHeader

from fooocusapi.args import args
from fooocusapi.parameters import GenerationFinishReason, ImageGenerationResult
from fooocusapi.task_queue import TaskType
import fooocusapi.worker as worker

api_key_header = APIKeyHeader(name="X-API-KEY", auto_error=False)


def api_key_auth(apikey: str = Security(api_key_header)):
    """
    Check if the API key is valid, API key is not required if no API key is set
    """
    if args.apikey is None:
        return  # Skip API key check if no API key is set
    if apikey != args.apikey:
        raise HTTPException(status_code=403, detail="Forbidden")


def call_worker(req, accept: str = 'application/json', webhook_url: str | None = None):
    """Call worker to generate image (async_process: returns the QueueTask or the queue-full result)."""
    async_task = worker.worker_queue.add_task(TaskType.text_2_img, req, webhook_url)
    if async_task is None:
        return [ImageGenerationResult(im=None, seed="", finish_reason=GenerationFinishReason.queue_is_full)]
    return async_task
