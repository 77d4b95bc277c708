"""``python -m eventstore.migrate`` and ``python -m eventstore.rebuild`` find the store the way the
worker does: CASEFLOW_DATABASE_URL, else the embedded store in CASEFLOW_STATE_DIR."""

import os
import subprocess
import sys
from pathlib import Path

from stack.paths import REPO_ROOT


def _run(module: str, state_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASEFLOW_")}
    env["CASEFLOW_STATE_DIR"] = str(state_dir)
    return subprocess.run([sys.executable, "-m", module], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, check=False, timeout=120)


def test_migrate_and_rebuild_default_to_the_embedded_store(tmp_path: Path) -> None:
    store = tmp_path / "caseflow.db"
    migrated = _run("eventstore.migrate", tmp_path)
    assert migrated.returncode == 0, migrated.stderr
    assert f"schema of sqlite+aiosqlite:///{store} upgraded from empty to" in migrated.stdout
    assert store.exists()

    rebuilt = _run("eventstore.rebuild", tmp_path)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert rebuilt.stdout.strip() == (
        f"rebuilt the projections of sqlite+aiosqlite:///{store} from 0 events")
