# Stand-in for extras/censor.py (Fooocus 2.5.5): Censor.censor runs the safety checker model on a batch.
from extras.safety_checker.models.safety_checker import StableDiffusionSafetyChecker


class Censor:
    def __init__(self):
        self.safety_checker_model = None

    def init(self):
        if self.safety_checker_model is None:
            self.safety_checker_model = StableDiffusionSafetyChecker()

    def censor(self, images):
        self.init()
        single = False
        if not isinstance(images, list):
            images = [images]
            single = True
        checked_images, has_nsfw_concept = self.safety_checker_model(images=images, clip_input=None)
        if single:
            checked_images = checked_images[0]
        return checked_images


default_censor = Censor().censor
