"""The README's run command (``bin/demo`` runs ``demo.py``): it starts a file-backed Temporal dev
server of its own, walks a billing dispute through three departments to closure, prints its
status and timeline and exits 0. Run again on the same state it does no harm: the dev server and
the store open the first run's files again, and the store keeps both requests."""

import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

from stack.paths import REPO_ROOT
from stack.ports import free_port


def _demo(state_dir: Path, temporal_port: int) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items()
           if key not in ("CASEFLOW_TEMPORAL_ADDRESS", "CASEFLOW_DATABASE_URL")}
    env.update(CASEFLOW_STATE_DIR=str(state_dir), CASEFLOW_TEMPORAL_PORT=str(temporal_port),
               CASEFLOW_METRICS_PORT=str(free_port()))
    return subprocess.run([sys.executable, "demo.py"], cwd=REPO_ROOT, env=env, capture_output=True,
                          text=True, timeout=240)


def test_the_demo_closes_a_request_and_runs_again_on_the_same_state(tmp_path: Path) -> None:
    temporal_port = free_port()
    runs = [_demo(tmp_path, temporal_port), _demo(tmp_path, temporal_port)]

    submitted: list[str] = []
    for run in runs:
        assert run.returncode == 0, run.stderr
        submitted += re.findall(r"^submitted (\S+):", run.stdout, re.MULTILINE)
        assert "状态: closed" in run.stdout
        steps = re.findall(r"^  step \S+ \(.+\) done by \S+ in (\S+)$", run.stdout, re.MULTILINE)
        assert sorted(steps) == ["customer_service", "customer_service", "finance",
                                 "technical_support"]
    assert len(set(submitted)) == 2
    assert (tmp_path / "temporal.db").is_file()
    with sqlite3.connect(tmp_path / "caseflow.db") as store:
        rows = store.execute("SELECT request_id, status FROM requests").fetchall()
    assert sorted(rows) == sorted((request_id, "closed") for request_id in submitted)
