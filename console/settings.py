"""The console's settings, from ``CASEFLOW_CONSOLE_*``: the identity provider's endpoints for
the authorization-code flow (its issuer and keys are the API's, ``CASEFLOW_API_ISSUER`` and
``CASEFLOW_API_JWKS``, so a signed-in person is verified exactly as a bearer token is)."""

import os
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class OidcSettings:
    authorize_url: str
    token_url: str
    client_id: str
    scope: str = "openid profile"


@dataclass(frozen=True, kw_only=True)
class ConsoleSettings:
    oidc: OidcSettings | None = None
    secure_cookies: bool = True
    """Mark cookies ``Secure``; browsers keep them on http://127.0.0.1 and localhost too."""


_OIDC = {"CASEFLOW_CONSOLE_OIDC_AUTHORIZE_URL": "authorize_url",
         "CASEFLOW_CONSOLE_OIDC_TOKEN_URL": "token_url",
         "CASEFLOW_CONSOLE_OIDC_CLIENT_ID": "client_id"}


def console_settings_from_env(env: Mapping[str, str] | None = None) -> ConsoleSettings:
    """ValueError naming the setting when only part of the OIDC settings is given."""
    env = os.environ if env is None else env
    given = {field: env[name].strip() for name, field in _OIDC.items() if env.get(name, "").strip()}
    if not given:
        return ConsoleSettings()
    if len(given) != len(_OIDC):
        missing = sorted(name for name, field in _OIDC.items() if field not in given)
        raise ValueError(f"sign-in with the identity provider needs {', '.join(missing)} too")
    for name in ("authorize_url", "token_url"):
        if not given[name].startswith(("https://", "http://")):
            raise ValueError(f"the console's OIDC {name} must be an http(s) URL")
    scope = env.get("CASEFLOW_CONSOLE_OIDC_SCOPE", "openid profile")
    return ConsoleSettings(oidc=OidcSettings(scope=scope, **given))
