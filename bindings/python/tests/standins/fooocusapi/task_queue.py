# Stand-in for fooocusapi/task_queue.py (Fooocus-API 0.5.0.1): QueueTask and TaskQueue as upstream (add_task
# returns None when the queue is full; finish_task posts the webhook with requests.post, then moves the task to
# the history). Persistence (sql) and history file cleanup are left out.
import time
import uuid
from enum import Enum
from typing import List

import requests

from fooocusapi.parameters import ImageGenerationParams, ImageGenerationResult
from fooocusapi.utils.file_utils import get_file_serve_url


class TaskType(str, Enum):
    text_2_img = 'Text to Image'
    img_uov = 'Image Upscale or Variation'
    img_inpaint_outpaint = 'Image Inpaint or Outpaint'
    img_prompt = 'Image Prompt'
    not_found = 'Not Found'


class QueueTask(object):
    job_id: str
    type: TaskType
    req_param: ImageGenerationParams
    is_finished: bool = False
    finish_progress: int = 0
    in_queue_millis: int
    start_millis: int = 0
    finish_millis: int = 0
    finish_with_error: bool = False
    task_status: str | None = None
    task_step_preview: str | None = None
    task_result: List[ImageGenerationResult] = None
    error_message: str | None = None
    webhook_url: str | None = None  # attribute for individual webhook_url

    def __init__(self, job_id: str, type: TaskType, req_param: ImageGenerationParams, in_queue_millis: int,
                 webhook_url: str | None = None):
        self.job_id = job_id
        self.type = type
        self.req_param = req_param
        self.in_queue_millis = in_queue_millis
        self.webhook_url = webhook_url

    def set_progress(self, progress: int, status: str | None):
        if progress > 100:
            progress = 100
        self.finish_progress = progress
        self.task_status = status

    def set_result(self, task_result: List[ImageGenerationResult], finish_with_error: bool,
                   error_message: str | None = None):
        if not finish_with_error:
            self.finish_progress = 100
            self.task_status = 'Finished'
        self.task_result = task_result
        self.finish_with_error = finish_with_error
        self.error_message = error_message


class TaskQueue(object):
    queue: List[QueueTask] = []
    history: List[QueueTask] = []
    last_job_id = None
    webhook_url: str | None = None
    persistent: bool = False

    def __init__(self, queue_size: int, hisotry_size: int, webhook_url: str | None = None,
                 persistent: bool | None = False):
        self.queue_size = queue_size
        self.history_size = hisotry_size
        self.webhook_url = webhook_url
        self.persistent = False if persistent is None else persistent
        self.queue = []  # (upstream shares class-level lists; per instance here so tests stay independent)
        self.history = []

    def add_task(self, type: TaskType, req_param: ImageGenerationParams,
                 webhook_url: str | None = None) -> QueueTask | None:
        """
        Create and add task to queue
        :returns: The created task's job_id, or None if reach the queue size limit
        """
        if len(self.queue) >= self.queue_size:
            return None

        job_id = str(uuid.uuid4())
        task = QueueTask(job_id=job_id, type=type, req_param=req_param,
                         in_queue_millis=int(round(time.time() * 1000)),
                         webhook_url=webhook_url)
        self.queue.append(task)
        self.last_job_id = job_id
        return task

    def get_task(self, job_id: str, include_history: bool = False) -> QueueTask | None:
        for task in self.queue:
            if task.job_id == job_id:
                return task

        if include_history:
            for task in self.history:
                if task.job_id == job_id:
                    return task

        return None

    def is_task_ready_to_start(self, job_id: str) -> bool:
        task = self.get_task(job_id)
        if task is None:
            return False

        return self.queue[0].job_id == job_id

    def is_task_finished(self, job_id: str) -> bool:
        task = self.get_task(job_id, True)
        if task is None:
            return False

        return task.is_finished

    def start_task(self, job_id: str):
        task = self.get_task(job_id)
        if task is not None:
            task.start_millis = int(round(time.time() * 1000))

    def finish_task(self, job_id: str):
        task = self.get_task(job_id)
        if task is not None:
            task.is_finished = True
            task.finish_millis = int(round(time.time() * 1000))

            # Use the task's webhook_url if available, else use the default
            webhook_url = task.webhook_url or self.webhook_url

            data = {"job_id": task.job_id, "job_result": []}

            if isinstance(task.task_result, List):
                for item in task.task_result:
                    data["job_result"].append({
                        "url": get_file_serve_url(item.im) if item.im else None,
                        "seed": item.seed if item.seed else "-1",
                    })

            # Send webhook
            if task.is_finished and webhook_url:
                try:
                    res = requests.post(webhook_url, json=data)
                    print(f'Call webhook response status: {res.status_code}')
                except Exception as e:
                    print('Call webhook error:', e)

            # Move task to history
            self.queue.remove(task)
            self.history.append(task)
