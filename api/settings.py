"""The API's settings, from ``CASEFLOW_*`` like the worker's (runtime.settings holds the shared
ones: Temporal, the store, the configuration and state folders)."""

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from runtime.settings import Settings, from_env, parse_port

PORT_SETTING = "CASEFLOW_API_PORT"
DEV_MODE_SETTING = "CASEFLOW_API_DEV_MODE"


@dataclass(frozen=True, kw_only=True)
class ApiSettings:
    base: Settings = field(default_factory=Settings)
    host: str = "127.0.0.1"
    port: int = 8080
    dev_mode: bool = False
    """Trust the embedded development issuer (its key in the state folder); never in
    production."""
    jwks: str | None = None
    """The identity provider's JWKS: an https:// URL or a file path."""
    issuer: str | None = None
    audience: str = "caseflow"
    person_claim: str = "preferred_username"
    """The token claim that holds the roster person id."""
    api_keys_file: Path | None = None
    max_body_bytes: int = 64 * 1024
    rate_per_minute: int = 600
    """Requests a principal may make per minute before 429."""

    @property
    def state_dir(self) -> Path:
        return self.base.state_dir


def _flag(env: Mapping[str, str], name: str) -> bool:
    value = env.get(name, "").strip().lower()
    if value in ("", "0", "false", "no", "off"):
        return False
    if value in ("1", "true", "yes", "on"):
        return True
    raise ValueError(f"{name}={value[:40]!r} is not a boolean (use 1 or 0)")


def _positive(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or int(raw) <= 0:
        raise ValueError(f"{name}={raw[:40]!r} is not a positive integer")
    return int(raw)


def api_settings_from_env(env: Mapping[str, str] | None = None) -> ApiSettings:
    """The API's settings; ValueError naming the setting that is malformed."""
    env = os.environ if env is None else env
    defaults = ApiSettings()
    port = env.get(PORT_SETTING)
    keys_file = env.get("CASEFLOW_API_KEYS_FILE")
    return ApiSettings(
        base=from_env(),
        host=env.get("CASEFLOW_API_HOST", defaults.host),
        port=defaults.port if port is None else parse_port(port, PORT_SETTING),
        dev_mode=_flag(env, DEV_MODE_SETTING),
        jwks=env.get("CASEFLOW_API_JWKS") or None,
        issuer=env.get("CASEFLOW_API_ISSUER") or None,
        audience=env.get("CASEFLOW_API_AUDIENCE", defaults.audience),
        person_claim=env.get("CASEFLOW_API_PERSON_CLAIM", defaults.person_claim),
        api_keys_file=Path(keys_file) if keys_file else None,
        max_body_bytes=_positive(env, "CASEFLOW_API_MAX_BODY_BYTES", defaults.max_body_bytes),
        rate_per_minute=_positive(env, "CASEFLOW_API_RATE_PER_MINUTE", defaults.rate_per_minute),
    )
