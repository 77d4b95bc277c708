"""``python -m stack install``: everything the local platform needs that a fresh machine lacks
(the Temporal CLI built with Go; PostgreSQL, Prometheus, Chromium and fonts-noto-cjk from
Debian's packages)."""

import sys

from stack.errors import StackError
from stack.system_packages import ensure_packages
from stack.temporal_cli import ensure_temporal_cli


def main(argv: list[str]) -> int:
    if argv != ["install"]:
        print("usage: python -m stack install", file=sys.stderr)
        return 2
    try:
        ensure_packages(["postgresql", "prometheus", "chromium", "fonts-noto-cjk"])
        print(f"temporal CLI: {ensure_temporal_cli()}")
    except StackError as error:
        print(f"caseflow bootstrap: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
