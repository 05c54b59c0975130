"""Minimal stub of FastAPI for the stand-ins: HTTPException and Security as api_utils uses them."""


class HTTPException(Exception):
    def __init__(self, status_code, detail=None):
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail


def Security(dependency=None):  # noqa: N802 - FastAPI's name
    return dependency


def Depends(dependency=None):  # noqa: N802
    return dependency
