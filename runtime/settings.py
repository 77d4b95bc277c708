"""Runtime settings from the environment (flags of worker.py and starter.py override them)."""

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_STATE_DIR = REPO_ROOT / ".state"


def embedded_store_url(state_dir: Path) -> str:
    """The embedded default event store: a SQLite file in the state folder."""
    return f"sqlite+aiosqlite:///{state_dir / 'caseflow.db'}"


@dataclass(frozen=True, kw_only=True)
class Settings:
    temporal_address: str = "localhost:7233"
    namespace: str = "default"
    task_queue: str = "caseflow-requests"
    state_dir: Path = DEFAULT_STATE_DIR
    """Where the single-machine run keeps its files (the dev server's and the embedded store's)."""
    # The embedded default: a SQLite file; production sets a postgresql+asyncpg:// URL.
    database_url: str = embedded_store_url(DEFAULT_STATE_DIR)
    metrics_port: int = 9464
    sdk_metrics_port: int = 9465
    config_dir: Path = REPO_ROOT / "config"
    webhook_url: str | None = None


def _port(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise ValueError(f"{name}={raw!r} is not a TCP port (1-65535)")
    return int(raw)


def from_env() -> Settings:
    defaults = Settings()
    env = os.environ
    state_dir = Path(env.get("CASEFLOW_STATE_DIR", str(defaults.state_dir)))
    return Settings(
        state_dir=state_dir,
        temporal_address=env.get("CASEFLOW_TEMPORAL_ADDRESS", defaults.temporal_address),
        namespace=env.get("CASEFLOW_TEMPORAL_NAMESPACE", defaults.namespace),
        task_queue=env.get("CASEFLOW_TASK_QUEUE", defaults.task_queue),
        database_url=env.get("CASEFLOW_DATABASE_URL", embedded_store_url(state_dir)),
        metrics_port=_port("CASEFLOW_METRICS_PORT", defaults.metrics_port),
        sdk_metrics_port=_port("CASEFLOW_SDK_METRICS_PORT", defaults.sdk_metrics_port),
        config_dir=Path(env.get("CASEFLOW_CONFIG_DIR", str(defaults.config_dir))),
        webhook_url=env.get("CASEFLOW_WEBHOOK_URL") or None,
    )
