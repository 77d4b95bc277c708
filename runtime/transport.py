"""How the Temporal frontend is reached: in clear on loopback (the dev server), over TLS
(optionally mutual: a client certificate and key), or with an API key (TLS implied). Read from
the environment and validated at start, so a worker or CLI with a wrong path or a broken PEM
stops in one line naming the setting instead of failing at its first call."""

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from temporalio.service import TLSConfig

TLS_SETTING = "CASEFLOW_TEMPORAL_TLS"
CA_SETTING = "CASEFLOW_TEMPORAL_TLS_CA"
CERT_SETTING = "CASEFLOW_TEMPORAL_TLS_CERT"
KEY_SETTING = "CASEFLOW_TEMPORAL_TLS_KEY"
SERVER_NAME_SETTING = "CASEFLOW_TEMPORAL_TLS_SERVER_NAME"
API_KEY_SETTING = "CASEFLOW_TEMPORAL_API_KEY"


class TransportSettingError(ValueError):
    """A TLS or API key setting that cannot be used; the message names it, never a secret."""


@dataclass(frozen=True)
class TemporalTransport:
    tls: TLSConfig | None = None
    api_key: str | None = None

    def describe(self) -> str:
        """For logs: how the connection is secured, without a secret."""
        if self.tls is None:
            return "plaintext"
        mutual = " with a client certificate" if self.tls.client_cert else ""
        return f"TLS{mutual}" + (" and an API key" if self.api_key else "")


def _read(env: Mapping[str, str], setting: str) -> bytes | None:
    path = env.get(setting)
    if not path:
        return None
    try:
        return Path(path).read_bytes()
    except OSError as error:
        raise TransportSettingError(f"{setting}={path}: cannot read "
                                    f"({error.strerror or error})") from None


def _certificates(data: bytes, setting: str) -> bytes:
    try:
        x509.load_pem_x509_certificates(data)
    except ValueError:
        raise TransportSettingError(f"{setting}: not a PEM certificate") from None
    return data


def _secret(env: Mapping[str, str], setting: str) -> str | None:
    if env.get(setting):
        return env[setting]
    data = _read(env, f"{setting}_FILE")
    if data is None:
        return None
    return data.decode().strip() or None


def transport_from(env: Mapping[str, str]) -> TemporalTransport:
    """The transport the environment describes (TransportSettingError naming what is wrong)."""
    ca, cert, key = (_read(env, s) for s in (CA_SETTING, CERT_SETTING, KEY_SETTING))
    if (cert is None) != (key is None):
        raise TransportSettingError(f"{CERT_SETTING} and {KEY_SETTING} go together: a client "
                                    "certificate needs its private key and the reverse")
    if ca is not None:
        _certificates(ca, CA_SETTING)
    if cert is not None and key is not None:
        _certificates(cert, CERT_SETTING)
        try:
            load_pem_private_key(key, password=None)
        except (ValueError, TypeError):
            raise TransportSettingError(f"{KEY_SETTING}: not an unencrypted PEM private "
                                        "key") from None
    api_key = _secret(env, API_KEY_SETTING)
    flag = env.get(TLS_SETTING, "").lower()
    if flag not in ("", "true", "false"):
        raise TransportSettingError(f"{TLS_SETTING}={flag[:20]!r} must be true or false")
    wants_tls = flag == "true" or (flag == "" and (
        ca or cert or api_key or env.get(SERVER_NAME_SETTING)))
    if flag == "false" and (ca or cert or api_key):
        raise TransportSettingError(f"{TLS_SETTING}=false contradicts the TLS or API key "
                                    "settings given")
    if not wants_tls:
        return TemporalTransport()
    return TemporalTransport(
        tls=TLSConfig(server_root_ca_cert=ca, client_cert=cert, client_private_key=key,
                      domain=env.get(SERVER_NAME_SETTING) or None),
        api_key=api_key)
