"""The benchmark suite's one command at its smoke size: each benchmark runs as its own process
against the real PostgreSQL, writes its JSON, and the suite tabulates and combines them."""

import json
import os
import subprocess
import sys
from pathlib import Path

from stack.paths import REPO_ROOT as ROOT


def run_suite(results: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bench", *args], cwd=ROOT, text=True,
                          capture_output=True, timeout=300, check=False,
                          env={**os.environ, "CASEFLOW_BENCH_RESULTS": str(results)})


def test_the_suite_runs_the_append_benchmark_and_tabulates_its_ratio(tmp_path: Path) -> None:
    done = run_suite(tmp_path, "--quick", "--only", "store_append")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "ratio append / raw asyncpg" in done.stdout
    (own,) = tmp_path.glob("store_append-*.json")
    (suite,) = tmp_path.glob("suite-*.json")
    body = json.loads(suite.read_text(encoding="utf-8"))
    assert body["figures"]["results"][0]["file"] == own.name
    ratio = body["ratios"]["store_append: append / raw asyncpg"]
    assert 0 < ratio < 10
    assert body["headline"]["store_append: append events/s"] > 0


def test_the_store_scale_benchmark_times_every_read_at_a_small_size(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.store_scale", "--events", "1700", "--repeat", "1"],
        cwd=ROOT, text=True, capture_output=True, timeout=300, check=False,
        env={**os.environ, "CASEFLOW_BENCH_RESULTS": str(tmp_path)})
    assert done.returncode == 0, done.stderr[-2000:]
    (result,) = tmp_path.glob("store_scale-*.json")
    body = json.loads(result.read_text(encoding="utf-8"))
    assert body["parameters"]["events"] == 1700
    assert set(body["headline"]) == {"collector pass ms", "monthly per-role query ms",
                                     "monthly report ms", "timeline ms", "rebuild ms"}
    assert "rebuild replayed 1,700 events" in done.stdout


def test_an_unknown_benchmark_is_refused_by_name(tmp_path: Path) -> None:
    done = run_suite(tmp_path, "--only", "store_apend")
    assert done.returncode == 2
    assert "unknown benchmark store_apend" in done.stderr
    assert not list(tmp_path.iterdir())
