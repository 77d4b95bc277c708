"""Staff bearer tokens: JWTs from the company's identity provider (JWKS URL or file, issuer,
audience, exp/nbf with a small leeway), and the embedded development issuer whose Ed25519 key
lives in the state folder, trusted only in development mode."""

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

DEV_ISSUER = "caseflow-dev-issuer"
DEV_KEY_FILE = "api-dev-issuer.pem"
LEEWAY_SECONDS = 30
_ALGORITHMS = ["RS256", "RS384", "RS512", "ES256", "ES384", "PS256", "EdDSA"]


class TokenRejected(Exception):
    """The token is not one this service trusts; the message says why, briefly."""


def _load_or_create_key(path: Path) -> Ed25519PrivateKey:
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{path} does not hold an Ed25519 key")
        return key
    key = Ed25519PrivateKey.generate()
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    temporary = path.with_suffix(".tmp")
    temporary.write_bytes(pem)
    temporary.chmod(0o600)
    temporary.replace(path)
    return key


class DevIssuer:
    """Signs tokens for roster people on a single machine, with no external identity
    provider."""

    def __init__(self, state_dir: Path, audience: str) -> None:
        self._key = _load_or_create_key(state_dir / DEV_KEY_FILE)
        self.audience = audience

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self._key.public_key()

    def issue(self, person_id: str, *, lifetime_seconds: int = 8 * 3600,
              claim: str = "preferred_username", now: float | None = None) -> str:
        issued = int(time.time() if now is None else now)
        return jwt.encode({"iss": DEV_ISSUER, "aud": self.audience, "sub": person_id,
                           claim: person_id, "iat": issued, "nbf": issued,
                           "exp": issued + lifetime_seconds}, self._key, algorithm="EdDSA")


class StaffTokenVerifier:
    """The roster person id a staff token names, once its signature and claims check out."""

    def __init__(self, *, audience: str, person_claim: str, issuer: str | None = None,
                 jwks: str | None = None, dev_issuer: DevIssuer | None = None) -> None:
        self._audience = audience
        self._claim = person_claim
        self._issuer = issuer
        self._dev = dev_issuer
        self._jwks_client: jwt.PyJWKClient | None = None
        self._jwks_file: jwt.PyJWKSet | None = None
        if jwks is not None and issuer is None:
            raise ValueError("CASEFLOW_API_JWKS is set but CASEFLOW_API_ISSUER is not")
        if jwks is not None and jwks.startswith(("https://", "http://")):
            self._jwks_client = jwt.PyJWKClient(jwks, cache_keys=True, lifespan=3600)
        elif jwks is not None:
            try:
                self._jwks_file = jwt.PyJWKSet.from_dict(json.loads(Path(jwks).read_text()))
            except (OSError, ValueError, jwt.PyJWKSetError) as error:
                raise ValueError(f"CASEFLOW_API_JWKS={jwks[:100]!r} is not a readable JWKS "
                                 f"file: {error}") from error

    async def _key_for(self, token: str, issuer: object) -> Any:
        if self._dev is not None and issuer == DEV_ISSUER:
            return self._dev.public_key
        if self._issuer is None or issuer != self._issuer:
            raise TokenRejected("the token's issuer is not trusted")
        kid = jwt.get_unverified_header(token).get("kid")
        if self._jwks_client is not None:
            signing = await asyncio.to_thread(self._jwks_client.get_signing_key_from_jwt, token)
            return signing.key
        if self._jwks_file is not None:
            for key in self._jwks_file.keys:
                if kid is None or key.key_id == kid:
                    return key.key
        raise TokenRejected("no key of the identity provider matches the token")

    async def person(self, token: str) -> str:
        try:
            unverified = jwt.decode(token, options={"verify_signature": False})
            issuer = unverified.get("iss")
            key = await self._key_for(token, issuer)
            claims = jwt.decode(token, key, algorithms=_ALGORITHMS, audience=self._audience,
                                issuer=str(issuer), leeway=LEEWAY_SECONDS,
                                options={"require": ["exp", "iss", "aud"]})
        except jwt.ExpiredSignatureError as error:
            raise TokenRejected("the token has expired") from error
        except jwt.ImmatureSignatureError as error:
            raise TokenRejected("the token is not valid yet") from error
        except jwt.InvalidAudienceError as error:
            raise TokenRejected("the token is for another audience") from error
        except jwt.InvalidIssuerError as error:
            raise TokenRejected("the token's issuer is not trusted") from error
        except jwt.InvalidSignatureError as error:
            raise TokenRejected("the token's signature does not verify") from error
        except (jwt.PyJWTError, ValueError) as error:
            raise TokenRejected(f"the token is malformed or incomplete ({type(error).__name__})"
                                ) from error
        person = claims.get(self._claim)
        if not isinstance(person, str) or not person:
            raise TokenRejected(f"the token has no {self._claim!r} claim")
        return person
