# SPDX-License-Identifier: Apache-2.0
"""The guide's launcher in a fresh interpreter: install_from_env() before Fooocus is imported, then the entry
script through runpy. Proves the hooks are applied right at the first import of each module."""
import json
import os
import subprocess
import sys

from conftest import PACKAGE_ROOT, STANDINS, cli_verify, read_events

ENTRY = r'''
# Stand-in for entry_with_update.py / launch.py: imports Fooocus, runs one generation, exits.
import sys
import modules.async_worker as worker
import webui
task = webui.get_task(None, *worker.make_args("TRIGGER_NSFW launcher test", black_out_nsfw=True))
out = list(webui.generate_clicked(task))
assert out[-1][0] == "finish"
from fooocus_audit.integrations import installed
print("HOOKS=" + ",".join(installed().installed))
'''

LAUNCHER = r'''
from fooocus_audit.integrations import install_from_env; install_from_env()
import runpy; runpy.run_path(sys.argv[1], run_name="__main__")
'''


def test_launcher_two_lines(tmp_path):
    entry = tmp_path / "entry_with_update.py"
    entry.write_text(ENTRY)
    launcher = tmp_path / "audit_launch.py"
    launcher.write_text("import sys\n" + LAUNCHER)
    log_dir = tmp_path / "log"
    config = tmp_path / "audit.json"
    config.write_text(json.dumps({"logger": {"dir": str(log_dir), "durability": "group_commit"},
                                  "tenant_id": "acme_corp", "safety_checker_version": "v2.1"}))
    env = dict(os.environ, FOOOCUS_AUDIT_CONFIG=str(config),
               PYTHONPATH=os.pathsep.join([PACKAGE_ROOT, STANDINS]))
    proc = subprocess.run([sys.executable, str(launcher), str(entry)], capture_output=True, text=True, env=env,
                          cwd=str(tmp_path), timeout=120)
    assert proc.returncode == 0, proc.stderr
    hooks = next(l for l in proc.stdout.splitlines() if l.startswith("HOOKS=")).split("=", 1)[1].split(",")
    assert "modules.async_worker.AsyncTask.__init__" in hooks and "modules.async_worker.async_tasks" in hooks
    code, report = cli_verify(log_dir)
    assert code == 0 and report["intact"]
    events = read_events(log_dir)  # the atexit uninstall flushed and closed the log
    types = [e["event_type"] for e in events]
    for t in ("generation.submitted", "generation.queued", "generation.started", "safety_check.completed",
              "generation.completed"):
        assert t in types
    assert all(e.get("tenant_id") == "acme_corp" for e in events if e["event_type"].startswith("generation."))
