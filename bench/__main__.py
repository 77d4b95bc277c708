"""The benchmark suite of issue 14: each benchmark in turn, as its own process, then one table
of their headline figures and ratios and one combined JSON.

    .venv/bin/python -m bench [--quick] [--only store_append,store_scale]

Every benchmark is ``python -m bench.<name> [--quick]`` and writes its figures to
``bench/results/<name>-<UTC>.json`` (``bench.results``); the suite reads them back from there.
A benchmark whose module is not in this checkout is listed as absent, one that fails as
failed with its exit status; the others still run. Exit status 1 if any failed."""

import argparse
import importlib.util
import json
import subprocess
import sys
import time
from datetime import UTC, datetime
from typing import Any

from bench.results import RESULTS_DIR, machine, write_result

SUITE = ("store_append", "store_scale", "timer_precision", "lifecycle")
"""In the order they run: the store's first (no Temporal), then the real stack's."""

BAR = 30


def progress(done: int, total: int, label: str) -> str:
    filled = BAR * done // total
    return f"[{'#' * filled}{'.' * (BAR - filled)}] {done}/{total} {label}"


def run_one(name: str, quick: bool) -> dict[str, Any]:
    """Runs ``bench.<name>`` with its output on this terminal; its result file's body, or
    what went wrong."""
    if importlib.util.find_spec(f"bench.{name}") is None:
        return {"benchmark": name, "outcome": "absent"}
    started = time.time()
    command = [sys.executable, "-m", f"bench.{name}", *(["--quick"] if quick else [])]
    status = subprocess.run(command, check=False).returncode
    seconds = round(time.time() - started, 1)
    if status != 0:
        return {"benchmark": name, "outcome": f"failed (exit status {status})",
                "seconds": seconds}
    written = [path for path in RESULTS_DIR.glob(f"{name}-*.json")
               if path.stat().st_mtime >= started]
    if not written:
        return {"benchmark": name, "outcome": "wrote no result", "seconds": seconds}
    latest = max(written, key=lambda path: path.stat().st_mtime)
    body: dict[str, Any] = json.loads(latest.read_text(encoding="utf-8"))
    return {**body, "headline": body.get("headline") or headline_of(body.get("figures", {})),
            "ratios": body.get("ratios", {}), "outcome": "ok", "seconds": seconds,
            "file": latest.name}


def headline_of(figures: dict[str, Any]) -> dict[str, float]:
    """The numbers of a result written without a ``headline`` (``bench.lifecycle``: figures
    per side, e.g. ``caseflow`` and ``baseline``), labelled by side."""
    return {f"{side} {label}": value for side, values in figures.items()
            if isinstance(values, dict)
            for label, value in values.items() if isinstance(value, int | float)}


def table(results: list[dict[str, Any]]) -> list[str]:
    """One line per headline figure and ratio of every benchmark."""
    lines = [f"{'benchmark':<16} {'figure':<36} {'value':>14}", "-" * 68]
    for result in results:
        name = result["benchmark"]
        if result["outcome"] != "ok":
            lines.append(f"{name:<16} {result['outcome']}")
            continue
        for label, value in result["headline"].items():
            lines.append(f"{name:<16} {label:<36} {value:>14,.1f}")
        for label, value in result["ratios"].items():
            lines.append(f"{name:<16} {'ratio ' + label:<36} {value:>14.2f}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="every benchmark at its smoke-test size")
    parser.add_argument("--only", default=",".join(SUITE),
                        help=f"comma-separated benchmarks (default: {','.join(SUITE)})")
    arguments = parser.parse_args(argv)
    names = [name.strip() for name in arguments.only.split(",") if name.strip()]
    unknown = sorted(set(names) - set(SUITE))
    if unknown:
        parser.error(f"--only: unknown benchmark {', '.join(unknown)}; known: {', '.join(SUITE)}")
    started = datetime.now(UTC)
    results = []
    for index, name in enumerate(names):
        print(progress(index, len(names), f"running {name}"), flush=True)
        results.append(run_one(name, arguments.quick))
    print(progress(len(names), len(names), "done"), flush=True)
    print()
    print("\n".join(table(results)))
    headline = {f"{r['benchmark']}: {label}": value for r in results if r["outcome"] == "ok"
                for label, value in r["headline"].items()}
    ratios = {f"{r['benchmark']}: {label}": value for r in results if r["outcome"] == "ok"
              for label, value in r["ratios"].items()}
    write_result("suite", headline=headline, ratios=ratios,
                 figures={"results": results, "started_at": started.isoformat()},
                 parameters={"quick": arguments.quick, "benchmarks": names,
                             "machine at start": machine()})
    failed = [r for r in results if r["outcome"] not in ("ok", "absent")]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
