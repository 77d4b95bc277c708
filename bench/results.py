"""Where a benchmark's figures go: one JSON file per run, ``bench/results/<name>-<UTC>.json``,
which the suite runner (``python -m bench``) reads back for its table.

A result holds ``headline`` (the few figures the table shows, label -> number), ``ratios``
(caseflow against its baseline in the same run, label -> number), ``figures`` (everything
else) and the run's ``parameters``; the machine's load is recorded with it because on a
shared machine it says as much about a figure as the code does."""

import json
import os
import platform
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(os.environ.get("CASEFLOW_BENCH_RESULTS",
                                  Path(__file__).resolve().parent / "results"))
"""``bench/results/``; ``CASEFLOW_BENCH_RESULTS`` elsewhere (the suite's smoke test)."""


def machine() -> dict[str, Any]:
    """The cores, the Python and the load average a figure was taken under."""
    return {"cpus": os.cpu_count(), "python": platform.python_version(),
            "load_average_1m": round(os.getloadavg()[0], 2)}


def write_result(name: str, *, headline: dict[str, float], ratios: dict[str, float] | None = None,
                 figures: dict[str, Any] | None = None,
                 parameters: dict[str, Any] | None = None) -> Path:
    """Writes one run's figures under ``bench/results/`` and returns the file's path."""
    now = datetime.now(UTC)
    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / f"{name}-{now:%Y%m%dT%H%M%SZ}.json"
    body = {"benchmark": name, "finished_at": now.isoformat(timespec="seconds"),
            "machine": machine(), "parameters": parameters or {}, "headline": headline,
            "ratios": ratios or {}, "figures": figures or {}}
    path.write_text(json.dumps(body, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"figures written to {path}")
    return path
