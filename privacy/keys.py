"""A key ring: named AES-256-GCM keys, one of them current for encryption, every one usable for
decryption, so a key can be rotated without downtime (add the new key everywhere, then make it
current, then drop the old one once nothing still needs it).

The ring's text form is JSON: ``{"current": "2026-12", "keys": {"2026-11": "<base64>",
"2026-12": "<base64>"}}``, each key 32 random bytes in standard base64."""

import base64
import binascii
import json
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_BYTES = 32
NONCE_BYTES = 12
_MAX_KEY_ID = 64


class KeyRingError(ValueError):
    """A key ring that cannot be used; the message names what is wrong, never a key."""


class UnknownKey(KeyRingError):
    """Data encrypted under a key the ring does not hold."""


class DecryptionFailed(KeyRingError):
    """Data that does not authenticate under the key it names (tampered or truncated)."""


@dataclass(frozen=True)
class KeyRing:
    current: str
    keys: Mapping[str, bytes]

    def __post_init__(self) -> None:
        for key_id, key in self.keys.items():
            if not key_id or len(key_id) > _MAX_KEY_ID or not key_id.isprintable():
                raise KeyRingError(f"key id {key_id[:_MAX_KEY_ID]!r} must be 1-{_MAX_KEY_ID} "
                                   "printable characters")
            if len(key) != KEY_BYTES:
                raise KeyRingError(f"key {key_id!r} has {len(key)} bytes; AES-256 needs "
                                   f"{KEY_BYTES}")
        if self.current not in self.keys:
            raise KeyRingError(f"the current key {self.current[:_MAX_KEY_ID]!r} is not among "
                               f"the ring's keys ({self.known()})")

    def known(self) -> str:
        return ", ".join(sorted(self.keys)) or "none"

    def encrypt(self, plaintext: bytes, *, context: bytes = b"") -> tuple[str, bytes]:
        """``(key id, nonce + ciphertext)`` under the current key; ``context`` is authenticated
        with it (the same context must be given to decrypt)."""
        return self.current, seal(self.keys[self.current], plaintext,
                                  context=self.current.encode() + context)

    def decrypt(self, key_id: str, sealed: bytes, *, context: bytes = b"") -> bytes:
        key = self.keys.get(key_id)
        if key is None:
            raise UnknownKey(f"data is encrypted with key {key_id[:_MAX_KEY_ID]!r}, which is not "
                             f"in the key ring (known: {self.known()})")
        return unseal(key, sealed, context=key_id.encode() + context,
                      what=f"data encrypted with key {key_id!r}")


def seal(key: bytes, plaintext: bytes, *, context: bytes) -> bytes:
    """``nonce + ciphertext`` of ``plaintext`` under ``key`` (AES-256-GCM, random nonce), with
    ``context`` authenticated alongside."""
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, context)


def unseal(key: bytes, sealed: bytes, *, context: bytes, what: str) -> bytes:
    try:
        return AESGCM(key).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], context)
    except InvalidTag as error:
        raise DecryptionFailed(f"{what} does not authenticate (tampered, truncated or sealed "
                               "for another context)") from error


def generate_key() -> bytes:
    return secrets.token_bytes(KEY_BYTES)


def ring_to_text(ring: KeyRing) -> str:
    return json.dumps({"current": ring.current,
                       "keys": {key_id: base64.b64encode(key).decode()
                                for key_id, key in ring.keys.items()}})


def ring_from_text(text: str, where: str) -> KeyRing:
    """The key ring ``text`` holds; KeyRingError naming ``where`` (a setting or a file) and the
    problem otherwise, without quoting the text."""
    try:
        document = json.loads(text)
    except ValueError as error:
        raise KeyRingError(f"{where}: not JSON ({error.__class__.__name__} at line "
                           f"{getattr(error, 'lineno', '?')})") from None
    if not isinstance(document, dict) or not isinstance(document.get("current"), str) \
            or not isinstance(document.get("keys"), dict):
        raise KeyRingError(f'{where}: expected {{"current": "<key id>", "keys": '
                           '{"<key id>": "<base64 of 32 bytes>", ...}}')
    keys: dict[str, bytes] = {}
    for key_id, encoded in document["keys"].items():
        try:
            keys[key_id] = base64.b64decode(encoded, validate=True) \
                if isinstance(encoded, str) else b""
        except binascii.Error:
            keys[key_id] = b""
        if not keys[key_id]:
            raise KeyRingError(f"{where}: key {key_id[:_MAX_KEY_ID]!r} is not standard base64")
    try:
        return KeyRing(current=document["current"], keys=keys)
    except KeyRingError as error:
        raise KeyRingError(f"{where}: {error}") from None


def ring_from_settings(env: Mapping[str, str], *, setting: str, default_file: Path) -> KeyRing:
    """The ring in ``setting`` (JSON), else in the file ``<setting>_FILE`` names, else in
    ``default_file``, which is created with one fresh key (mode 0600) when it does not exist:
    the single-machine run keeps its keys in its state folder."""
    if env.get(setting):
        return ring_from_text(env[setting], setting)
    file_setting = f"{setting}_FILE"
    path = Path(env[file_setting]) if env.get(file_setting) else default_file
    where = f"{file_setting}={path}" if env.get(file_setting) else str(path)
    if not env.get(file_setting) and not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        ring = KeyRing(current="local-1", keys={"local-1": generate_key()})
        _create_once(path, ring_to_text(ring))
    try:
        text = path.read_text()
    except OSError as error:
        raise KeyRingError(f"{where}: cannot read ({error.strerror or error})") from None
    return ring_from_text(text, where)


def _create_once(path: Path, text: str) -> None:
    """Writes ``path`` whole, unless another process got there first (its ring wins)."""
    draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as out:
        out.write(text)
    try:
        os.link(draft, path)
    except FileExistsError:
        pass
    finally:
        draft.unlink()
