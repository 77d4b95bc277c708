"""Where the local platform keeps what it builds and what it runs (both git-ignored)."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
TOOLS_DIR = REPO_ROOT / ".tools"
STATE_DIR = REPO_ROOT / ".state"
CONFIG_DIR = REPO_ROOT / "config"
