"""Runtime settings from the environment (flags of the entry points override them): the one
place every entry point reads them from."""

import argparse
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from runtime.transport import TemporalTransport, transport_from
from stack.paths import CONFIG_DIR as DEFAULT_CONFIG_DIR
from stack.paths import STATE_DIR as DEFAULT_STATE_DIR

STATE_DIR_SETTING = "CASEFLOW_STATE_DIR"
CONFIG_DIR_SETTING = "CASEFLOW_CONFIG_DIR"
DATABASE_URL_SETTING = "CASEFLOW_DATABASE_URL"
GRACEFUL_SHUTDOWN_SETTING = "CASEFLOW_GRACEFUL_SHUTDOWN_SECONDS"
MAX_GRACEFUL_SHUTDOWN_SECONDS = 3600.0


def embedded_store_url(state_dir: Path) -> str:
    """The embedded default event store: a SQLite file in the state folder."""
    return f"sqlite+aiosqlite:///{state_dir / 'caseflow.db'}"


def store_url_from(env: Mapping[str, str]) -> str:
    """The event store URL ``env`` names, else the embedded store in its state folder."""
    state_dir = Path(env.get(STATE_DIR_SETTING, str(DEFAULT_STATE_DIR)))
    return env.get(DATABASE_URL_SETTING, embedded_store_url(state_dir))


def store_url_argument(prog: str, description: str, argv: list[str] | None = None) -> str:
    """The event store URL of a command ``prog [URL]``: the argument, else the store the
    environment names (``store_url_from``); ``--help`` prints the usage and exits."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument(
        "url", nargs="?", default=store_url_from(os.environ), metavar="URL",
        help=f"event store URL (default: ${DATABASE_URL_SETTING}, else the embedded store in"
             f" ${STATE_DIR_SETTING})",
    )
    url: str = parser.parse_args(argv).url
    return url


def config_dir_from(env: Mapping[str, str]) -> Path:
    return Path(env.get(CONFIG_DIR_SETTING, str(DEFAULT_CONFIG_DIR)))


def parse_port(text: str, where: str) -> int:
    """``text`` as a TCP port; ValueError naming ``where`` (a setting or a flag) otherwise."""
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ValueError(f"{where}={text!r} is not a TCP port (1-65535)")
    return int(text)


def parse_seconds(text: str, where: str, *, zero: bool = False,
                  at_most: float = MAX_GRACEFUL_SHUTDOWN_SECONDS) -> float:
    """``text`` as a number of seconds, positive (or ``zero``) and at most ``at_most``;
    ValueError naming ``where`` otherwise."""
    try:
        seconds = float(text)
    except ValueError:
        seconds = float("nan")
    low_ok = seconds >= 0 if zero else seconds > 0  # NaN fails every comparison
    if not (low_ok and seconds <= at_most):
        raise ValueError(f"{where}={text[:40]!r} is not a number of seconds "
                         f"({'0' if zero else 'over 0'} to {at_most:.0f})")
    return seconds


def parse_grace(text: str, where: str) -> float:
    """``text`` as the seconds running activities get to finish after SIGTERM; ValueError
    naming ``where`` otherwise."""
    return parse_seconds(text, where, zero=True)


def parse_count(text: str, where: str, *, low: int, high: int) -> int:
    """``text`` as a whole number from ``low`` to ``high``; ValueError naming ``where``."""
    if not text.strip().isdigit() or not low <= int(text) <= high:
        raise ValueError(f"{where}={text[:40]!r} is not a whole number ({low}-{high})")
    return int(text)


# name of the setting, (lowest, highest); the defaults are WorkerTuning's.
TUNING_SETTINGS = {
    "workflow_tasks": ("CASEFLOW_MAX_CONCURRENT_WORKFLOW_TASKS", (2, 10_000)),
    "activities": ("CASEFLOW_MAX_CONCURRENT_ACTIVITIES", (1, 10_000)),
    "local_activities": ("CASEFLOW_MAX_CONCURRENT_LOCAL_ACTIVITIES", (1, 10_000)),
    "cached_workflows": ("CASEFLOW_MAX_CACHED_WORKFLOWS", (0, 1_000_000)),
    "workflow_task_pollers": ("CASEFLOW_WORKFLOW_TASK_POLLERS", (2, 100)),
    "activity_task_pollers": ("CASEFLOW_ACTIVITY_TASK_POLLERS", (1, 100)),
}


@dataclass(frozen=True, kw_only=True)
class WorkerTuning:
    """How much work one worker process takes at once (README, Settings: the figures behind
    the defaults). Each slot count bounds the tasks of its kind running together; the sticky
    cache keeps that many workflows in memory, so their next task needs no replay."""

    workflow_tasks: int = 100
    activities: int = 100
    local_activities: int = 100
    cached_workflows: int = 1000
    workflow_task_pollers: int = 5
    activity_task_pollers: int = 5

    def __post_init__(self) -> None:
        for name, (setting, (low, high)) in TUNING_SETTINGS.items():
            parse_count(str(getattr(self, name)), setting, low=low, high=high)
        if 0 < self.cached_workflows < self.workflow_tasks:
            # A task of a workflow evicted to make room for another running task would replay.
            raise ValueError(
                f"CASEFLOW_MAX_CACHED_WORKFLOWS={self.cached_workflows} is below "
                f"CASEFLOW_MAX_CONCURRENT_WORKFLOW_TASKS={self.workflow_tasks}: the cache must "
                "hold every workflow whose task runs (or be 0, no cache)")


def tuning_from(env: Mapping[str, str]) -> WorkerTuning:
    """The worker tuning ``env`` sets, the defaults elsewhere; ValueError naming the setting."""
    given = {name: parse_count(env[setting], setting, low=low, high=high)
             for name, (setting, (low, high)) in TUNING_SETTINGS.items() if setting in env}
    return WorkerTuning(**given)


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
    config_dir: Path = DEFAULT_CONFIG_DIR
    webhook_url: str | None = None
    webhook_subscriptions_file: Path | None = None
    """The integrations' signed webhooks (see delivery/integrations.py); none when unset."""
    wait_seconds: float = 20.0
    """How long the CLI waits for Temporal's answer before saying the outcome is unknown."""
    temporal_transport: TemporalTransport = field(default_factory=TemporalTransport)
    """TLS (mutual or not) or an API key to the Temporal frontend; plaintext by default."""
    graceful_shutdown_seconds: float = 30.0
    """How long SIGTERM lets running activities finish: within the pod's grace period."""
    tuning: WorkerTuning = field(default_factory=WorkerTuning)


def _port(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return default if raw is None else parse_port(raw, name)


def _seconds(name: str, default: float) -> float:
    raw = os.environ.get(name)
    return default if raw is None else parse_seconds(raw, name)


def _optional_path(raw: str | None) -> Path | None:
    return Path(raw) if raw else None


def from_env() -> Settings:
    defaults = Settings()
    env = os.environ
    return Settings(
        state_dir=Path(env.get(STATE_DIR_SETTING, str(defaults.state_dir))),
        temporal_address=env.get("CASEFLOW_TEMPORAL_ADDRESS", defaults.temporal_address),
        namespace=env.get("CASEFLOW_TEMPORAL_NAMESPACE", defaults.namespace),
        task_queue=env.get("CASEFLOW_TASK_QUEUE", defaults.task_queue),
        database_url=store_url_from(env),
        metrics_port=_port("CASEFLOW_METRICS_PORT", defaults.metrics_port),
        sdk_metrics_port=_port("CASEFLOW_SDK_METRICS_PORT", defaults.sdk_metrics_port),
        config_dir=config_dir_from(env),
        webhook_url=env.get("CASEFLOW_WEBHOOK_URL") or None,
        webhook_subscriptions_file=_optional_path(env.get("CASEFLOW_WEBHOOK_SUBSCRIPTIONS_FILE")),
        wait_seconds=_seconds("CASEFLOW_WAIT_SECONDS", defaults.wait_seconds),
        temporal_transport=transport_from(env),
        graceful_shutdown_seconds=parse_grace(
            env.get(GRACEFUL_SHUTDOWN_SETTING, str(defaults.graceful_shutdown_seconds)),
            GRACEFUL_SHUTDOWN_SETTING),
        tuning=tuning_from(env),
    )
