"""Integrations (ERP, CRM) as configuration: the TOML file named by the setting
CASEFLOW_WEBHOOK_SUBSCRIPTIONS_FILE lists each subscriber's name, URL, event types and where
its signing secret is (a file or an environment variable, never the file itself)::

    [[integration]]
    name = "erp"
    url = "https://erp.example.cn/hooks/caseflow"
    event_types = ["submitted", "resolved", "cancelled"]
    secret_file = "/run/secrets/erp-webhook"      # or: secret_env = "CASEFLOW_ERP_SECRET"

Loading validates everything at worker start and fails in one line naming the problem."""

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, ValidationError, model_validator

from delivery.destinations import LOG, WEBHOOK
from domain.events import EventType
from domain.outbound import DESTINATION_LENGTH, Subscription
from domain.webhooks import InvalidSecret, signing_key

SETTING = "CASEFLOW_WEBHOOK_SUBSCRIPTIONS_FILE"
RESERVED_NAMES = frozenset({LOG, WEBHOOK})


class SubscriptionsError(ValueError):
    """The subscriptions file cannot be used; the message is one line naming the problem."""


class IntegrationEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=DESTINATION_LENGTH, pattern=r"^[a-z][a-z0-9_-]*$")
    url: HttpUrl
    event_types: frozenset[EventType] = Field(min_length=1)
    secret_file: Path | None = None
    secret_env: str | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _one_secret_source(self) -> Self:
        if (self.secret_file is None) == (self.secret_env is None):
            raise ValueError("give exactly one of secret_file and secret_env")
        return self


class SubscriptionsFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    integration: list[IntegrationEntry] = Field(default_factory=list)


class Integration(BaseModel):
    """One subscriber: a destination named ``name`` and what it is sent."""

    model_config = ConfigDict(frozen=True)

    name: str
    url: str
    event_types: frozenset[EventType]
    key: bytes = Field(repr=False)
    """The HMAC key of its signing secret (kept out of reprs, hence out of logs)."""

    def subscription(self) -> Subscription:
        return Subscription(destination=self.name, event_types=self.event_types)


def load_integrations(path: Path, env: Mapping[str, str] | None = None) -> list[Integration]:
    """The integrations ``path`` configures, their secrets read; SubscriptionsError if not."""
    environ = os.environ if env is None else env
    where = f"{SETTING} ({path})"
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise SubscriptionsError(f"{where}: cannot read: {error.strerror or error}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise SubscriptionsError(f"{where}: not TOML: {error}") from None
    try:
        entries = SubscriptionsFile.model_validate(raw).integration
    except ValidationError as error:
        first = error.errors()[0]
        place = ".".join(str(part) for part in first["loc"])
        raise SubscriptionsError(f"{where}: {place}: {first['msg']}") from None
    seen: set[str] = set()
    integrations = []
    for entry in entries:
        named = f"{where}: integration {entry.name!r}"
        if entry.name in RESERVED_NAMES or entry.name in seen:
            raise SubscriptionsError(f"{named}: the name is taken; choose another")
        seen.add(entry.name)
        secret = _secret(entry, path.parent, environ, named)
        try:
            key = signing_key(secret)
        except InvalidSecret as error:
            raise SubscriptionsError(f"{named}: {error}") from None
        integrations.append(Integration(name=entry.name, url=str(entry.url),
                                        event_types=entry.event_types, key=key))
    return integrations


def _secret(entry: IntegrationEntry, base: Path, env: Mapping[str, str], named: str) -> str:
    if entry.secret_env is not None:
        secret = env.get(entry.secret_env, "").strip()
        if not secret:
            raise SubscriptionsError(f"{named}: the environment variable {entry.secret_env} "
                                     "holding its secret is unset or empty")
        return secret
    assert entry.secret_file is not None  # the model holds exactly one source
    file = entry.secret_file if entry.secret_file.is_absolute() else base / entry.secret_file
    try:
        secret = file.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or error
        raise SubscriptionsError(f"{named}: cannot read its secret_file {file}: {reason}"
                                 ) from None
    if not secret:
        raise SubscriptionsError(f"{named}: its secret_file {file} is empty")
    return secret
