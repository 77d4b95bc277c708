"""Debian packages the local platform needs, installed in one apt run when missing."""

import glob
import os
import shutil
import subprocess

from stack.errors import StackError

# package -> a check that it is installed
_CHECKS = {
    "postgresql": lambda: bool(glob.glob("/usr/lib/postgresql/*/bin/initdb")),
    "prometheus": lambda: shutil.which("promtool") is not None,
    # The console's browser tests drive Debian's Chromium; Noto CJK gives it Chinese glyphs.
    "chromium": lambda: os.path.exists("/usr/bin/chromium"),
    "fonts-noto-cjk": lambda: bool(glob.glob("/usr/share/fonts/opentype/noto/NotoSansCJK*")),
}


def missing_packages(names: list[str]) -> list[str]:
    return [name for name in names if not _CHECKS[name]()]


def ensure_packages(names: list[str]) -> None:
    """Installs the missing ones of ``names`` with apt (as root), or says how to."""
    missing = missing_packages(names)
    if not missing:
        return
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise StackError(f"missing Debian packages {', '.join(missing)}: install them "
                         f"(apt-get install {' '.join(missing)}) or run bin/bootstrap as root")
    print(f"installing {', '.join(missing)} from Debian's packages...", flush=True)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for command in (["apt-get", "update", "-q"],
                    ["apt-get", "install", "-y", "-q", "--no-install-recommends", *missing]):
        result = subprocess.run(command, env=env, capture_output=True, text=True)
        if result.returncode != 0:
            tail = " ".join(result.stderr.strip().splitlines()[-2:])
            raise StackError(f"`{' '.join(command)}` failed: {tail}")
    still = missing_packages(names)
    if still:
        raise StackError(f"apt installed {', '.join(missing)} but {', '.join(still)} "
                         "is still not usable")
