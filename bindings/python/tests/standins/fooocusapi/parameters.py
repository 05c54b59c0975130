# Stand-in for fooocusapi/parameters.py (Fooocus-API 0.5.0.1): the parameter and result types the queue carries.
from enum import Enum
from typing import List, Tuple


class GenerationFinishReason(str, Enum):
    success = 'SUCCESS'
    queue_is_full = 'QUEUE_IS_FULL'
    user_cancel = 'USER_CANCEL'
    error = 'ERROR'


class ImageGenerationResult:
    def __init__(self, im: str | None, seed: str, finish_reason: GenerationFinishReason):
        self.im = im
        self.seed = seed
        self.finish_reason = finish_reason


class AdvancedParams:
    def __init__(self, black_out_nsfw: bool = False):
        self.black_out_nsfw = black_out_nsfw


class ImageGenerationParams:
    def __init__(self, prompt: str, negative_prompt: str = '', style_selections: List[str] = (),
                 performance_selection: str = 'Speed', aspect_ratios_selection: str = '1152*896',
                 image_number: int = 1, image_seed: int = -1, sharpness: float = 2.0, guidance_scale: float = 4.0,
                 base_model_name: str = 'juggernautXL_v8Rundiffusion.safetensors', refiner_model_name: str = 'None',
                 refiner_switch: float = 0.5, loras: List[Tuple[str, float]] = (),
                 advanced_params: AdvancedParams | None = None, require_base64: bool = False,
                 save_extension: str = 'png'):
        self.prompt = prompt
        self.negative_prompt = negative_prompt
        self.style_selections = list(style_selections)
        self.performance_selection = performance_selection
        self.aspect_ratios_selection = aspect_ratios_selection
        self.image_number = image_number
        self.image_seed = image_seed
        self.sharpness = sharpness
        self.guidance_scale = guidance_scale
        self.base_model_name = base_model_name
        self.refiner_model_name = refiner_model_name
        self.refiner_switch = refiner_switch
        self.loras = list(loras)
        self.advanced_params = advanced_params or AdvancedParams()
        self.require_base64 = require_base64
        self.save_extension = save_extension
