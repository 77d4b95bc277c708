"""Finds the Temporal CLI (which embeds the dev server), building it from the Go module proxy
when the machine has none. The build is cached under ``.tools/bin`` so later runs are instant."""

import os
import shutil
import subprocess
from pathlib import Path

from stack.errors import StackError
from stack.paths import TOOLS_DIR

# The newest CLI tag whose go.mod has no `replace` directive: `go install pkg@version` refuses
# later tags. It embeds Temporal server 1.29.1.
TEMPORAL_CLI_MODULE = "github.com/temporalio/cli/cmd/temporal"
TEMPORAL_CLI_VERSION = "v1.5.1"
CACHED_CLI = TOOLS_DIR / "bin" / "temporal"


def find_temporal_cli() -> Path | None:
    """``$TEMPORAL_CLI``, else ``temporal`` on PATH, else the cached build, else None."""
    configured = os.environ.get("TEMPORAL_CLI")
    if configured:
        path = Path(configured)
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise StackError(f"TEMPORAL_CLI={configured} is not an executable file")
        return path
    on_path = shutil.which("temporal")
    if on_path:
        return Path(on_path)
    if CACHED_CLI.is_file():
        return CACHED_CLI
    return None


def build_temporal_cli() -> Path:
    """Builds the pinned CLI with the machine's Go into ``.tools/bin``."""
    go = shutil.which("go")
    if go is None:
        raise StackError(
            "no Temporal CLI found and no Go toolchain to build it: install Go >= 1.25 "
            "(https://go.dev/dl) or set TEMPORAL_CLI to an existing `temporal` binary"
        )
    CACHED_CLI.parent.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, CGO_ENABLED="0", GOBIN=str(CACHED_CLI.parent))
    # An older Go fetches a matching toolchain through the same module proxy.
    env.setdefault("GOTOOLCHAIN", "auto")
    target = f"{TEMPORAL_CLI_MODULE}@{TEMPORAL_CLI_VERSION}"
    print(f"building Temporal CLI {TEMPORAL_CLI_VERSION} with Go (once, about 3 minutes)...",
          flush=True)
    result = subprocess.run([go, "install", target], env=env, capture_output=True, text=True)
    if result.returncode != 0 or not CACHED_CLI.is_file():
        tail = " ".join(result.stderr.strip().splitlines()[-3:])
        raise StackError(f"`go install {target}` failed: {tail}")
    return CACHED_CLI


def ensure_temporal_cli() -> Path:
    """The Temporal CLI binary, built if necessary."""
    return find_temporal_cli() or build_temporal_cli()
