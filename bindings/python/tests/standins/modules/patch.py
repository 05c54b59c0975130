# Stand-in for modules/patch.py: patch_all (a no-op here).
def patch_all():
    pass
