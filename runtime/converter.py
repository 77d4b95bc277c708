"""One data converter for every Temporal client and worker: pydantic models travel as JSON, are
encrypted (AES-256-GCM, the key id in the payload's metadata) before they leave the process, and
come back decrypted and validated. Failure messages and stack traces are encrypted too: refusal
texts quote subjects and names.

The key ring is the process's (``CASEFLOW_PAYLOAD_KEYS`` or ``CASEFLOW_PAYLOAD_KEYS_FILE``, else
``payload-keys.json`` in the state folder), read once, on first use or by ``process_key_ring()``
at start-up."""

import dataclasses
import functools
import os
from collections.abc import Callable, Sequence
from pathlib import Path

from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import (
    DataConverter,
    DefaultFailureConverterWithEncodedAttributes,
    PayloadCodec,
)

from privacy.keys import KeyRing, KeyRingError, ring_from_settings
from runtime.settings import STATE_DIR_SETTING
from stack.paths import STATE_DIR as DEFAULT_STATE_DIR

PAYLOAD_KEYS_SETTING = "CASEFLOW_PAYLOAD_KEYS"
ENCRYPTED_ENCODING = b"binary/encrypted"
KEY_ID_METADATA = "encryption-key-id"


class PayloadKeyError(KeyRingError):
    """A payload that cannot be decrypted; the message names the key and the setting to fix."""


class EncryptionCodec(PayloadCodec):
    """Seals each payload (metadata and data) whole; a payload that is not sealed (a history
    recorded before encryption) passes through unchanged."""

    def __init__(self, ring: KeyRing | Callable[[], KeyRing]) -> None:
        self._ring = ring if callable(ring) else (lambda: ring)

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.seal(payload) for payload in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.open(payload) for payload in payloads]

    def seal(self, payload: Payload) -> Payload:
        key_id, sealed = self._ring().encrypt(payload.SerializeToString())
        return Payload(metadata={"encoding": ENCRYPTED_ENCODING,
                                 KEY_ID_METADATA: key_id.encode()}, data=sealed)

    def open(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCRYPTED_ENCODING:
            return payload
        key_id = payload.metadata.get(KEY_ID_METADATA, b"").decode(errors="replace")
        try:
            return Payload.FromString(self._ring().decrypt(key_id, payload.data))
        except KeyRingError as error:
            raise PayloadKeyError(
                f"cannot decrypt a Temporal payload: {error} (check {PAYLOAD_KEYS_SETTING} / "
                f"{PAYLOAD_KEYS_SETTING}_FILE)") from None


def data_converter(ring: KeyRing | Callable[[], KeyRing]) -> DataConverter:
    """caseflow's converter with payloads sealed under ``ring``."""
    return dataclasses.replace(pydantic_data_converter, payload_codec=EncryptionCodec(ring),
                               failure_converter_class=DefaultFailureConverterWithEncodedAttributes)


@functools.cache
def process_key_ring() -> KeyRing:
    """This process's payload key ring (KeyRingError naming the setting if it is unusable)."""
    state_dir = Path(os.environ.get(STATE_DIR_SETTING, str(DEFAULT_STATE_DIR)))
    return ring_from_settings(os.environ, setting=PAYLOAD_KEYS_SETTING,
                              default_file=state_dir / "payload-keys.json")


DATA_CONVERTER = data_converter(process_key_ring)
