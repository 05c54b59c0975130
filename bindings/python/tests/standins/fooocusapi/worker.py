# Stand-in for fooocusapi/worker.py (Fooocus-API 0.5.0.1): worker_queue, process_stop (interrupt),
# task_schedule_loop and process_generate with upstream's result handling: success -> set_result(results, False)
# then finish_task; an exception -> set_result([], True, str(e)) then finish_task; a stop -> the interrupted
# sampling breaks the loop and the partial results finish as a success. Generation itself is simulated.
import threading
import time
from typing import List

import ldm_patched.modules.model_management
import modules.config
from extras.censor import default_censor
from fooocusapi.parameters import GenerationFinishReason, ImageGenerationResult
from fooocusapi.task_queue import QueueTask, TaskQueue
from fooocusapi.utils.file_utils import save_output_file

STEP_SECONDS = 0.01
STEPS = 5

worker_queue: TaskQueue | None = None


def process_stop():
    """Stop process"""
    import ldm_patched.modules.model_management
    ldm_patched.modules.model_management.interrupt_current_processing()


def task_schedule_loop(stop_event: threading.Event):
    """Task schedule loop (upstream loops forever; the stand-in stops when told)."""
    while not stop_event.is_set():
        if len(worker_queue.queue) == 0:
            time.sleep(0.01)
            continue

        current_task = worker_queue.queue[0]
        if current_task.start_millis == 0:
            process_generate(current_task)
        else:
            time.sleep(0.01)


def blocking_get_task_result(job_id: str) -> List[ImageGenerationResult]:
    while not worker_queue.is_task_finished(job_id):
        time.sleep(0.01)
    task = worker_queue.get_task(job_id, True)
    return task.task_result


def process_generate(async_job: QueueTask):
    """Generate image"""
    worker_queue.start_task(async_job.job_id)
    results = []
    params = async_job.req_param
    try:
        with ldm_patched.modules.model_management.interrupt_processing_mutex:
            ldm_patched.modules.model_management.interrupt_processing = False
        if 'TRIGGER_FAIL' in params.prompt:
            raise RuntimeError(f'CUDA error while processing prompt {params.prompt!r}')
        width, height = [int(x) for x in params.aspect_ratios_selection.split('*')[:2]]
        for i in range(params.image_number):
            try:
                for step in range(STEPS):
                    time.sleep(STEP_SECONDS)
                    ldm_patched.modules.model_management.throw_exception_if_processing_interrupted()
            except ldm_patched.modules.model_management.InterruptProcessingException:
                print('User stopped')
                break
            colour = (255, 0, 0) if 'TRIGGER_NSFW' in params.prompt else (i * 40 % 256, 200, 100)
            imgs = [{'width': max(1, width // 64), 'height': max(1, height // 64), 'colour': colour}]
            if modules.config.default_black_out_nsfw or params.advanced_params.black_out_nsfw:
                imgs = default_censor(imgs)
            for im in imgs:
                name = save_output_file(im, image_name=f'{async_job.job_id}-{i}', extension=params.save_extension)
                results.append(ImageGenerationResult(im=name, seed=str(i), finish_reason=GenerationFinishReason.success))
        async_job.set_result(results, False)
        worker_queue.finish_task(async_job.job_id)
    except Exception as e:
        if not async_job.is_finished:
            async_job.set_result([], True, str(e))
            worker_queue.finish_task(async_job.job_id)
