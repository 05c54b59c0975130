# Stand-in for modules/util.py (Fooocus 2.5.5): get_enabled_loras, as upstream.
def get_enabled_loras(loras: list, remove_none=True) -> list:
    return [(lora[1], lora[2]) for lora in loras if lora[0] and (lora[1] != 'None' if remove_none else True)]
