# SPDX-License-Identifier: Apache-2.0
"""ctest driver for the Python suite: runs pytest on this folder, or exits 77 (ctest: skipped) with a message
when pytest is not installed (Debian: apt install python3-pytest)."""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

try:
    import pytest
except ImportError:
    print(f"python:pytest skipped: pytest is not installed for {sys.executable} "
          "(Debian: apt install python3-pytest)")
    sys.exit(77)

sys.exit(pytest.main(["-q", "-p", "no:cacheprovider", "--rootdir", HERE, HERE] + sys.argv[1:]))
