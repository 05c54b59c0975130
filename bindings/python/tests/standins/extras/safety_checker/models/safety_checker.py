# Stand-in for extras/safety_checker/models/safety_checker.py (Fooocus 2.5.5, from diffusers): forward(clip_input,
# images) returns (images, has_nsfw_concepts) and blacks out the flagged images, as upstream. Upstream decides
# with CLIP embeddings; the stand-in flags images whose colour is NSFW_COLOUR.
NSFW_COLOUR = (255, 0, 0)
BLACK = (0, 0, 0)


class StableDiffusionSafetyChecker:
    main_input_name = "clip_input"

    def __call__(self, *args, **kwargs):  # torch.nn.Module.__call__ dispatches to forward
        return self.forward(*args, **kwargs)

    def forward(self, clip_input, images):
        has_nsfw_concepts = [img['colour'] == NSFW_COLOUR for img in images]
        for idx, has_nsfw_concept in enumerate(has_nsfw_concepts):
            if has_nsfw_concept:
                images[idx] = dict(images[idx], colour=BLACK)  # black image
        return images, has_nsfw_concepts
