"""Chaos runs with recorded figures.

    .venv/bin/python -m bench.chaos [--requests 1000] [--concurrency 20] [--faults F,F,...]
                                    [--database-outage 15] [--receiver-outage 60]

Starts its own PostgreSQL cluster and file-backed Temporal dev server (loopback, free ports),
runs the fault-free shape and then each fault, prints the table and writes it as JSON under
bench/results/."""

import argparse
import asyncio
import json
import time
from dataclasses import asdict
from typing import Any

from bench.chaos.run import FAULTS, Options, run_all
from stack.paths import REPO_ROOT

RESULTS = REPO_ROOT / "bench" / "results"
COLUMNS = (
    ("fault", "fault"), ("closed", "closed"), ("events/req", "events_per_request"),
    ("gaps", "gaps"), ("dup events", "duplicate_events"),
    ("notified", "notifications_delivered"), ("expected", "notifications_expected"),
    ("missing", "notifications_missing"), ("dedup dropped", "redeliveries_dropped_by_dedup"),
    ("failed", "workflows_failed"), ("stuck", "workflows_stuck"),
    ("recover s", "recover_seconds"), ("max call s", "max_call_seconds"),
)


def table(rows: list[dict[str, Any]], *, header: bool = True) -> str:
    widths = [max(len(title), *(len(str(r[key])) for r in rows)) for title, key in COLUMNS]
    lines = []
    if header:
        lines.append(" | ".join(t.ljust(w) for (t, _), w in zip(COLUMNS, widths, strict=True)))
    for row in rows:
        cells = [f"{row['closed']}/{row['requests']}" if key == "closed" else str(row[key])
                 for _, key in COLUMNS]
        lines.append(" | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.chaos")
    parser.add_argument("--requests", type=int, default=Options.requests)
    parser.add_argument("--concurrency", type=int, default=Options.concurrency)
    parser.add_argument("--faults", default=",".join(FAULTS),
                        help=f"comma-separated, from: {', '.join(FAULTS)}")
    parser.add_argument("--database-outage", type=float, default=Options.database_outage)
    parser.add_argument("--receiver-outage", type=float, default=Options.receiver_outage)
    args = parser.parse_args()
    faults = [f.strip() for f in args.faults.split(",") if f.strip()]
    unknown = [f for f in faults if f not in FAULTS]
    if unknown:
        parser.error(f"unknown fault {unknown[0]!r}; one of {', '.join(FAULTS)}")
    options = Options(requests=args.requests, concurrency=args.concurrency,
                      database_outage=args.database_outage,
                      receiver_outage=args.receiver_outage)
    rows = asyncio.run(run_all(faults, options, each=lambda row, first: print(
        table([row], header=first), flush=True)))
    print()
    print(table(rows))
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"chaos-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.json"
    out.write_text(json.dumps({"options": asdict(options),
                               "rows": rows}, indent=2, ensure_ascii=False) + "\n")
    print(f"\nwritten {out.relative_to(REPO_ROOT)}")


if __name__ == "__main__":
    main()
