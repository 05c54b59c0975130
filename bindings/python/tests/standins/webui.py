# Stand-in for webui.py (Fooocus 2.5.5): get_task, generate_clicked, stop_clicked and skip_clicked with the same
# control flow, without Gradio (the tuples stand for the gr.update() values).
import time

import modules.async_worker as worker


def get_task(*args):
    args = list(args)
    args.pop(0)

    return worker.AsyncTask(args=args)


def generate_clicked(task: worker.AsyncTask):
    import ldm_patched.modules.model_management as model_management

    with model_management.interrupt_processing_mutex:
        model_management.interrupt_processing = False
    # outputs=[progress_html, progress_window, progress_gallery, gallery]

    if len(task.args) == 0:
        return

    execution_start_time = time.perf_counter()
    finished = False

    yield ('progress', 1, 'Waiting for task to start ...')

    worker.async_tasks.append(task)

    while not finished:
        time.sleep(0.01)
        if len(task.yields) > 0:
            flag, product = task.yields.pop(0)
            if flag == 'preview':
                # help bad internet connection by skipping duplicated preview
                if len(task.yields) > 0:  # if we have the next item
                    if task.yields[0][0] == 'preview':  # if the next item is also a preview
                        continue
                percentage, title, image = product
                yield ('progress', percentage, title)
            if flag == 'results':
                yield ('results', product)
            if flag == 'finish':
                yield ('finish', product)
                finished = True

    execution_time = time.perf_counter() - execution_start_time
    print(f'Total time: {execution_time:.2f} seconds')
    return


def generate_clicked_edited(task: worker.AsyncTask, request=None):
    """generate_clicked after the guide's one-line edit (`request: gr.Request` added to its parameters): Gradio
    passes the request, and the hook finds it among the caller's locals."""
    yield from generate_clicked(task)


def stop_clicked(currentTask):
    import ldm_patched.modules.model_management as model_management
    currentTask.last_stop = 'stop'
    if (currentTask.processing):
        model_management.interrupt_current_processing()
    return currentTask


def skip_clicked(currentTask):
    import ldm_patched.modules.model_management as model_management
    currentTask.last_stop = 'skip'
    if (currentTask.processing):
        model_management.interrupt_current_processing()
    return currentTask
