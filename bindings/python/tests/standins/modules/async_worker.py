# Stand-in for modules/async_worker.py (Fooocus 2.5.5). Same names and control flow for everything the hooks
# touch: AsyncTask.__init__ (the same argument order up to black_out_nsfw; upstream continues with advanced
# parameters the hooks never read), the module-level async_tasks list, and the worker thread that pops tasks with
# async_tasks.pop(0), drives task.yields with ['preview', ...], ['results', ...] and appends ['finish', results]
# after handler() returns or inside `except:` when it raised. Generation is simulated (sleeps, tiny PNGs).
import threading

from modules.patch import patch_all
import modules.config

patch_all()

# Test knobs (not upstream).
STEP_SECONDS = 0.01
STEPS = 5


class AsyncTask:
    def __init__(self, args):
        from modules.flags import Performance, MetadataScheme, ip_list, disabled
        from modules.util import get_enabled_loras
        from modules.config import default_max_lora_number
        import args_manager

        self.args = args.copy()
        self.yields = []
        self.results = []
        self.last_stop = False
        self.processing = False

        self.performance_loras = []

        if len(args) == 0:
            return

        args.reverse()
        self.generate_image_grid = args.pop()
        self.prompt = args.pop()
        self.negative_prompt = args.pop()
        self.style_selections = args.pop()

        self.performance_selection = Performance(args.pop())
        self.steps = self.performance_selection.steps()
        self.original_steps = self.steps

        self.aspect_ratios_selection = args.pop()
        self.image_number = args.pop()
        self.output_format = args.pop()
        self.seed = int(args.pop())
        self.read_wildcards_in_order = args.pop()
        self.sharpness = args.pop()
        self.cfg_scale = args.pop()
        self.base_model_name = args.pop()
        self.refiner_model_name = args.pop()
        self.refiner_switch = args.pop()
        self.loras = get_enabled_loras([(bool(args.pop()), str(args.pop()), float(args.pop())) for _ in
                                        range(default_max_lora_number)])
        self.input_image_checkbox = args.pop()
        self.current_tab = args.pop()
        self.uov_method = args.pop()
        self.uov_input_image = args.pop()
        self.outpaint_selections = args.pop()
        self.inpaint_input_image = args.pop()
        self.inpaint_additional_prompt = args.pop()
        self.inpaint_mask_image_upload = args.pop()

        self.disable_preview = args.pop()
        self.disable_intermediate_results = args.pop()
        self.disable_seed_increment = args.pop()
        self.black_out_nsfw = args.pop()
        # (upstream: adm_scaler_positive ... enhance controls)


def make_args(prompt, negative_prompt='', styles=('Fooocus V2',), performance='Speed',
              aspect_ratio='1152\u00d7896 <span style="color: grey;"> \u2223 9:7</span>', image_number=1, seed=1234,
              sharpness=2.0, cfg_scale=7.0, base_model='juggernautXL_v8Rundiffusion.safetensors',
              refiner_model='None', loras=(), black_out_nsfw=False):
    """The `ctrls` values webui.py passes to get_task (after currentTask), in AsyncTask.__init__'s order.
    Test helper, not upstream."""
    lora_ctrls = []
    loras = list(loras) + [(False, 'None', 1.0)] * (modules.config.default_max_lora_number - len(loras))
    for enabled, name, weight in loras:
        lora_ctrls += [enabled, name, weight]
    return ([False, prompt, negative_prompt, list(styles), performance, aspect_ratio, image_number, 'png', seed,
             False, sharpness, cfg_scale, base_model, refiner_model, 0.8] + lora_ctrls +
            [False, 'uov', 'Disabled', None, [], None, '', None, False, False, False, black_out_nsfw])


async_tasks = []


class EarlyReturnException(BaseException):
    pass


def worker():
    global async_tasks

    import os
    import traceback
    import time
    import ldm_patched.modules.model_management
    import png

    from extras.censor import default_censor

    def progressbar(async_task, number, text):
        print(f'[Fooocus] {text}')
        async_task.yields.append(['preview', (number, text, None)])

    def yield_result(async_task, imgs, progressbar_index, black_out_nsfw, censor=True,
                     do_not_show_finished_images=False):
        if not isinstance(imgs, list):
            imgs = [imgs]

        if censor and (modules.config.default_black_out_nsfw or black_out_nsfw):
            progressbar(async_task, progressbar_index, 'Checking for NSFW content ...')
            imgs = default_censor(imgs)

        async_task.results = async_task.results + imgs

        if do_not_show_finished_images:
            return

        async_task.yields.append(['results', async_task.results])
        return

    def process_diffusion(async_task, task_seed):
        # Upstream: pipeline.process_diffusion; its sampling callback raises InterruptProcessingException.
        if 'TRIGGER_FAIL' in async_task.prompt:
            raise RuntimeError(f'CUDA error while processing prompt {async_task.prompt!r}')
        for step in range(STEPS):
            time.sleep(STEP_SECONDS)
            ldm_patched.modules.model_management.throw_exception_if_processing_interrupted()
            async_task.yields.append(['preview', (int(100 * (step + 1) / STEPS),
                                                  f'Sampling step {step + 1}/{STEPS} ...', None)])
        width, height = async_task.aspect_ratios_selection.replace('\u00d7', ' ').split(' ')[:2]
        colour = (255, 0, 0) if 'TRIGGER_NSFW' in async_task.prompt else (task_seed % 256, 128, 64)
        return [{'width': max(1, int(width) // 64), 'height': max(1, int(height) // 64), 'colour': colour}]

    def save_and_log(async_task, imgs, task_seed):
        img_paths = []
        os.makedirs(modules.config.path_outputs, exist_ok=True)
        for i, x in enumerate(imgs):
            path = os.path.join(modules.config.path_outputs, f'{id(async_task):x}_{task_seed}_{i}.png')
            png.write_png(path, x['width'], x['height'], x['colour'])
            img_paths.append(path)
        return img_paths

    def process_task(async_task, current_task_id, task_seed, show_intermediate_results):
        if async_task.last_stop is not False:
            ldm_patched.modules.model_management.interrupt_current_processing()
        imgs = process_diffusion(async_task, task_seed)
        current_progress = 100
        if modules.config.default_black_out_nsfw or async_task.black_out_nsfw:
            progressbar(async_task, current_progress, 'Checking for NSFW content ...')
            imgs = default_censor(imgs)
        progressbar(async_task, current_progress, f'Saving image {current_task_id + 1} to system ...')
        img_paths = save_and_log(async_task, imgs, task_seed)
        yield_result(async_task, img_paths, current_progress, async_task.black_out_nsfw, False,
                     do_not_show_finished_images=not show_intermediate_results or async_task.disable_intermediate_results)
        return imgs, img_paths, current_progress

    def stop_processing(async_task, processing_start_time):
        async_task.processing = False
        processing_time = time.perf_counter() - processing_start_time
        print(f'Processing time (total): {processing_time:.2f} seconds')

    def handler(async_task):
        preparation_start_time = time.perf_counter()
        async_task.processing = True
        processing_start_time = time.perf_counter()
        show_intermediate_results = async_task.image_number > 1
        for current_task_id in range(async_task.image_number):
            progressbar(async_task, 1, f'Preparing task {current_task_id + 1}/{async_task.image_number} ...')
            try:
                process_task(async_task, current_task_id, async_task.seed + current_task_id,
                             show_intermediate_results)
            except ldm_patched.modules.model_management.InterruptProcessingException:
                if async_task.last_stop == 'skip':
                    print('User skipped')
                    async_task.last_stop = False
                    continue
                else:
                    print('User stopped')
                    break
        stop_processing(async_task, processing_start_time)
        return

    while True:
        time.sleep(0.01)
        if len(async_tasks) > 0:
            task = async_tasks.pop(0)

            try:
                handler(task)
                if task.generate_image_grid:
                    pass  # build_image_wall(task): appends a numpy array, never a path
                task.yields.append(['finish', task.results])
            except:  # noqa: E722 - as upstream
                traceback.print_exc()
                task.yields.append(['finish', task.results])


threading.Thread(target=worker, daemon=True).start()
