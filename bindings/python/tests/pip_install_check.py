# SPDX-License-Identifier: Apache-2.0
"""`pip install ./bindings/python` without network, as a user on Debian would, checked end to end.

    pip_install_check.py SOURCE_DIR WORK_DIR      (FOOOCUS_AUDIT_LIBRARY = the built libfooocus_audit_c.so)

1. copies SOURCE_DIR (so the build leaves nothing in the source tree) and puts a copy of the library in the
   package folder, as a packager would;
2. python3 -m venv --system-site-packages WORK_DIR/venv (Debian's setuptools and pip, no index);
3. WORK_DIR/venv/bin/pip install --no-build-isolation --no-index WORK_DIR/src;
4. imports the installed package from another directory with FOOOCUS_AUDIT_LIBRARY and PYTHONPATH unset: it must
   come from the venv and find the library in its own folder, and an AuditLogger must write a log.
"""
import os
import shutil
import subprocess
import sys


def run(cmd, **kw):
    print("+", " ".join(cmd), flush=True)
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, **kw)
    if proc.returncode != 0:
        print(proc.stdout)
        print(proc.stderr, file=sys.stderr)
        sys.exit(f"failed ({proc.returncode}): {' '.join(cmd)}")
    return proc.stdout


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    source, work = (os.path.abspath(a) for a in sys.argv[1:3])
    lib = os.environ.get("FOOOCUS_AUDIT_LIBRARY")
    if not lib or not os.path.isfile(lib):
        sys.exit("FOOOCUS_AUDIT_LIBRARY must name the built libfooocus_audit_c.so")
    try:
        import venv  # noqa: F401
        import ensurepip  # noqa: F401
    except ImportError:
        print(f"python:pip_install skipped: venv/ensurepip missing for {sys.executable} "
              "(Debian: apt install python3-venv python3-pip python3-setuptools)")
        sys.exit(77)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    src = os.path.join(work, "src")
    shutil.copytree(source, src, ignore=shutil.ignore_patterns("tests", "__pycache__", "*.egg-info", "build",
                                                               "libfooocus_audit_c*"))
    shutil.copy(lib, os.path.join(src, "fooocus_audit", "libfooocus_audit_c.so"))  # the file, not a symlink
    venv_dir = os.path.join(work, "venv")
    run([sys.executable, "-m", "venv", "--system-site-packages", venv_dir])
    py = os.path.join(venv_dir, "bin", "python")
    run([py, "-m", "pip", "install", "--no-build-isolation", "--no-index", "--no-cache-dir",
         "--disable-pip-version-check", src])
    env = {k: v for k, v in os.environ.items() if k not in ("FOOOCUS_AUDIT_LIBRARY", "PYTHONPATH",
                                                           "LD_LIBRARY_PATH")}
    probe = os.path.join(work, "probe")
    os.makedirs(probe)
    check = (
        "import os, fooocus_audit, fooocus_audit.integrations\n"
        "pkg = os.path.dirname(fooocus_audit.__file__)\n"
        f"assert pkg.startswith({venv_dir!r}), pkg\n"
        "assert os.path.dirname(fooocus_audit.library_path()) == pkg, fooocus_audit.library_path()\n"
        "with fooocus_audit.AuditLogger(dir='log', durability='always') as log:\n"
        "    log.log({'event_type': 'test.pip_install'})\n"
        "with fooocus_audit.ChainVerifier() as v:\n"
        "    assert v.verify('log').intact\n"
        "print('installed', fooocus_audit.__version__, 'library', fooocus_audit.library_version(), 'at', pkg)\n")
    print(run([py, "-c", check], cwd=probe, env=env))


if __name__ == "__main__":
    main()
