# Stand-in for fooocusapi/utils/file_utils.py (Fooocus-API 0.5.0.1): output_dir, save_output_file (PNG via the
# stdlib here), get_file_serve_url.
import os
import tempfile
import uuid
from pathlib import Path

import png

output_dir = os.path.join(os.environ.get('FA_STANDIN_OUTPUTS') or tempfile.gettempdir(), 'fooocus-api-outputs',
                          'files')
os.makedirs(output_dir, exist_ok=True)

STATIC_SERVER_BASE = 'http://127.0.0.1:8888/files/'


def save_output_file(img, image_meta: dict = None, image_name: str = '', extension: str = 'png') -> str:
    date_string = '2026-11-27'
    image_name = str(uuid.uuid4()) if image_name == '' else image_name
    filename = os.path.join(date_string, image_name + '.' + extension)
    file_path = os.path.join(output_dir, filename)
    os.makedirs(os.path.dirname(file_path), exist_ok=True)
    png.write_png(file_path, img['width'], img['height'], img['colour'])
    return Path(filename).as_posix()


def get_file_serve_url(filename: str | None) -> str | None:
    if filename is None:
        return None
    return STATIC_SERVER_BASE + filename.replace('\\', '/')
