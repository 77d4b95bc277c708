"""Integration API keys: each integration is scoped to one channel and to the operations it may
call, and only SHA-256 hashes of its keys are stored, so the keys file is no secret. Listing two
hashes lets a new key go live before the old one is withdrawn (rotation without downtime).

The keys file (``CASEFLOW_API_KEYS_FILE``), TOML::

    [[integrations]]
    id = "call-centre"
    channel = "phone"
    operations = ["submit", "read"]
    submit_as = "wang.fang"             # the roster person recorded as submitter
    key_sha256 = ["3f1c…", "9ab2…"]     # python -m api key prints a key and its hash
    defaults = { request_type = "general_inquiry", priority = "P3" }   # the mail gateway's
"""

import hashlib
import hmac
import secrets
import tomllib
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from api.principals import ChannelDefaults, IntegrationPrincipal
from domain.request import Channel

KEY_PREFIX = "cfk_"


class Operation(StrEnum):
    SUBMIT = "submit"
    READ = "read"
    EMAIL_INBOUND = "email_inbound"
    CUSTOMER_TIER = "customer_tier"
    """The CRM's: record a customer's change of tier."""


class Integration(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1, max_length=64)
    channel: Channel
    operations: frozenset[Operation]
    submit_as: str = Field(min_length=1, max_length=64)
    key_sha256: tuple[str, ...] = Field(min_length=1, max_length=2,
                                        description="hex SHA-256 of each valid key (two while "
                                                    "rotating)")
    defaults: ChannelDefaults | None = None


class _KeysFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    integrations: tuple[Integration, ...] = ()


def new_key() -> tuple[str, str]:
    """A fresh key and the hash to put in the keys file."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    return key, key_hash(key)


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class ApiKeys:
    def __init__(self, integrations: tuple[Integration, ...] = ()) -> None:
        self._integrations = integrations

    @classmethod
    def load(cls, path: Path | None) -> "ApiKeys":
        """The keys in ``path`` (none when unset); ValueError naming the file and what is
        wrong."""
        if path is None:
            return cls()
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
            return cls(_KeysFile.model_validate(data).integrations)
        except (OSError, tomllib.TOMLDecodeError) as error:
            raise ValueError(f"CASEFLOW_API_KEYS_FILE {path}: {error}") from error
        except ValidationError as error:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
                                 for e in error.errors()[:5])
            raise ValueError(f"CASEFLOW_API_KEYS_FILE {path}: {problems}") from error

    def principal(self, key: str) -> IntegrationPrincipal | None:
        presented = key_hash(key)
        for integration in self._integrations:
            if any(hmac.compare_digest(presented, stored.lower())
                   for stored in integration.key_sha256):
                return IntegrationPrincipal(
                    integration_id=integration.id, channel=integration.channel,
                    operations=frozenset(integration.operations),
                    submit_as=integration.submit_as, defaults=integration.defaults)
        return None
