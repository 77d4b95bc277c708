"""The key ring and the payload codec: sealing, rotation, unknown keys, tampering and the
ring's settings, with errors that name the problem and never a key."""

import base64
import json
from pathlib import Path

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.api.failure.v1 import Failure

from privacy.keys import (
    DecryptionFailed,
    KeyRing,
    KeyRingError,
    UnknownKey,
    generate_key,
    ring_from_settings,
    ring_from_text,
    ring_to_text,
)
from runtime.converter import KEY_ID_METADATA, EncryptionCodec, PayloadKeyError, data_converter

OLD, NEW = generate_key(), generate_key()
BEFORE = KeyRing(current="k1", keys={"k1": OLD})
AFTER = KeyRing(current="k2", keys={"k1": OLD, "k2": NEW})
NAME = "上海星河贸易有限公司"


def test_a_sealed_value_opens_under_its_key_and_uses_a_fresh_nonce() -> None:
    first = BEFORE.encrypt(NAME.encode())
    second = BEFORE.encrypt(NAME.encode())
    assert first[0] == "k1"
    assert first[1] != second[1]
    assert NAME.encode() not in first[1]
    assert BEFORE.decrypt(*first).decode() == NAME


def test_after_rotation_old_data_opens_and_new_data_uses_the_new_key() -> None:
    key_id, sealed = BEFORE.encrypt(b"old")
    assert AFTER.decrypt(key_id, sealed) == b"old"
    assert AFTER.encrypt(b"new")[0] == "k2"


def test_an_unknown_key_and_a_tampered_value_are_refused_by_name() -> None:
    key_id, sealed = AFTER.encrypt(b"x")
    with pytest.raises(UnknownKey, match=r"key 'k2', which is not in the key ring \(known: k1\)"):
        BEFORE.decrypt(key_id, sealed)
    with pytest.raises(DecryptionFailed, match="does not authenticate"):
        AFTER.decrypt(key_id, sealed[:-1] + bytes([sealed[-1] ^ 1]))
    with pytest.raises(DecryptionFailed):
        AFTER.decrypt("k1", AFTER.encrypt(b"x")[1])  # sealed under k2, relabelled k1


async def test_the_codec_seals_payloads_whole_and_passes_unsealed_ones_through() -> None:
    codec = EncryptionCodec(AFTER)
    plain = Payload(metadata={"encoding": b"json/plain"}, data=json.dumps(NAME).encode())
    [sealed] = await codec.encode([plain])
    assert sealed.metadata["encoding"] == b"binary/encrypted"
    assert sealed.metadata[KEY_ID_METADATA] == b"k2"
    assert NAME.encode() not in sealed.SerializeToString()
    assert await codec.decode([sealed]) == [plain]
    # Histories recorded before encryption still decode.
    assert await codec.decode([plain]) == [plain]
    with pytest.raises(PayloadKeyError, match=r"key 'k2'.*CASEFLOW_PAYLOAD_KEYS"):
        await EncryptionCodec(BEFORE).decode([sealed])


async def test_failure_messages_and_stack_traces_are_sealed() -> None:
    converter = data_converter(AFTER)
    failure = Failure()
    await converter.encode_failure(ValueError(f"客户 {NAME} 的请求被拒绝"), failure)
    assert NAME.encode() not in failure.SerializeToString()
    decoded = await converter.decode_failure(failure)
    assert NAME in str(decoded)


def test_the_ring_round_trips_through_its_text() -> None:
    assert ring_from_text(ring_to_text(AFTER), "X") == AFTER


@pytest.mark.parametrize(("text", "problem"), [
    ("{", "X: not JSON"),
    ('{"keys": {}}', 'X: expected {"current"'),
    (json.dumps({"current": "k9", "keys": {"k1": base64.b64encode(OLD).decode()}}),
     "current key 'k9' is not among the ring's keys (k1)"),
    ('{"current": "k1", "keys": {"k1": "not base64!"}}', "key 'k1' is not standard base64"),
    (json.dumps({"current": "k1", "keys": {"k1": base64.b64encode(b"short").decode()}}),
     "key 'k1' has 5 bytes; AES-256 needs 32"),
])
def test_a_bad_ring_is_one_clear_error(text: str, problem: str) -> None:
    with pytest.raises(KeyRingError) as raised:
        ring_from_text(text, "X")
    assert problem in str(raised.value)
    assert base64.b64encode(OLD).decode() not in str(raised.value)


def test_the_ring_comes_from_the_setting_its_file_or_the_state_folder(tmp_path: Path) -> None:
    default = tmp_path / "state" / "payload-keys.json"
    assert ring_from_settings({"K": ring_to_text(AFTER)}, setting="K",
                              default_file=default) == AFTER
    ring_file = tmp_path / "ring.json"
    ring_file.write_text(ring_to_text(BEFORE))
    assert ring_from_settings({"K_FILE": str(ring_file)}, setting="K",
                              default_file=default) == BEFORE
    with pytest.raises(KeyRingError, match=r"K_FILE=.*missing.json: cannot read"):
        ring_from_settings({"K_FILE": str(tmp_path / "missing.json")}, setting="K",
                           default_file=default)
    created = ring_from_settings({}, setting="K", default_file=default)
    assert default.stat().st_mode & 0o777 == 0o600
    assert ring_from_settings({}, setting="K", default_file=default) == created
