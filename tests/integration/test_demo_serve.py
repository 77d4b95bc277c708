"""``bin/demo --serve``: after the demo the HTTP API serves in front of the stack and prints
its URL and the console's (whose sign-in lists the roster); a development token from
``python -m api token`` reads the demo's request through it,
and SIGTERM stops everything with exit status 0."""

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from stack.paths import REPO_ROOT
from stack.ports import free_port


def _lines_until(process: subprocess.Popen[str], pattern: str, within: float) -> list[str]:
    """stdout lines up to the first matching ``pattern``; fails after ``within`` seconds."""
    stdout = process.stdout
    assert stdout is not None
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        for line in stdout:
            lines.put(line.rstrip("\n"))
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    seen: list[str] = []
    deadline = time.monotonic() + within
    while (left := deadline - time.monotonic()) > 0:
        try:
            line = lines.get(timeout=left)
        except queue.Empty:
            break
        if line is None:
            break
        seen.append(line)
        if re.search(pattern, line):
            return seen
    raise AssertionError(f"no line matching {pattern!r}; output so far: {seen[-5:]}")


def test_demo_serve_prints_the_api_url_and_serves_it(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items()
           if key not in ("CASEFLOW_TEMPORAL_ADDRESS", "CASEFLOW_DATABASE_URL",
                          "CASEFLOW_API_DEV_MODE")}
    env.update(CASEFLOW_STATE_DIR=str(tmp_path), CASEFLOW_TEMPORAL_PORT=str(free_port()),
               CASEFLOW_METRICS_PORT=str(free_port()), CASEFLOW_API_PORT=str(free_port()))
    errors = tmp_path / "demo.err"
    error_file = errors.open("w")
    process = subprocess.Popen([sys.executable, "demo.py", "--serve"], cwd=REPO_ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=error_file, text=True)
    try:
        lines = _lines_until(process, r"^console: http://", within=240)
        request_id = next(m.group(1) for line in lines
                          if (m := re.match(r"^submitted (\S+):", line)))
        url = re.match(r"^api: (http://\S+)/docs", lines[-2])
        assert url is not None, lines[-2]
        console = re.match(r"^console: (http://\S+/console/)", lines[-1])
        assert console is not None, lines[-1]
        token = subprocess.run([sys.executable, "-m", "api", "token", "wang.fang"],
                               cwd=REPO_ROOT, env={**env, "CASEFLOW_API_DEV_MODE": "1"},
                               capture_output=True, text=True, timeout=60, check=True)
        headers = {"Authorization": f"Bearer {token.stdout.strip()}"}
        with httpx.Client(base_url=url.group(1), timeout=30) as http:
            assert http.get("/readyz").status_code == 200
            read = http.get(f"/api/v1/requests/{request_id}", headers=headers)
            assert read.status_code == 200, read.text
            assert read.json()["live"]["status"] == "closed"
            assert http.get(f"/api/v1/requests/{request_id}").status_code == 401
            # the console's sign-in lists the embedded roster (development mode)
            signin = http.get(console.group(1), follow_redirects=True)
            assert signin.status_code == 200
            assert "wang.fang" in signin.text
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0, errors.read_text()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        error_file.close()
        if process.stdout is not None:
            process.stdout.close()
