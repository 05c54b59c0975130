"""Stub of the `requests` package for the stand-ins: post() answers from RESPONSES (host -> status code or an
exception instance) and records every call in CALLS. Like the real one, a connection error's message holds the
whole URL."""
import urllib.parse

RESPONSES = {}
CALLS = []


class RequestException(IOError):
    pass


class ConnectionError(RequestException):  # noqa: A001 - the real name
    pass


class Response:
    def __init__(self, status_code):
        self.status_code = status_code


def post(url, data=None, json=None, **kwargs):
    CALLS.append((url, json))
    host = urllib.parse.urlsplit(url).hostname
    answer = RESPONSES.get(host, 200)
    if isinstance(answer, BaseException):
        raise ConnectionError(f"HTTPConnectionPool: Max retries exceeded with url: {url} ({answer})")
    return Response(answer)
