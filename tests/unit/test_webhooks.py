"""Signed webhooks: the signature matches the Standard Webhooks reference vector, and the body
carries the event without the customer's personal fields."""

import json
from datetime import UTC, datetime

import pytest

from domain.actors import SYSTEM
from domain.events import EventType, NoteAdded, new_event
from domain.outbound import Subscription, messages_for
from domain.webhooks import InvalidSecret, signature, signing_key, webhook_body

# The example of the Standard Webhooks specification, computed by hand with hmac and base64.
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TIMESTAMP = 1614265330
SPEC_BODY = b'{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

AT = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
NOTE = new_event("REQ-1", 8, SYSTEM, AT, NoteAdded(text="客户电话 13800000000"))
ERP = Subscription(destination="erp", event_types=frozenset({EventType.NOTE_ADDED}))


def test_the_signature_matches_the_specification_vector() -> None:
    key = signing_key(SPEC_SECRET)
    assert signature(key, SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY) == SPEC_SIGNATURE


def test_any_change_to_id_timestamp_or_body_changes_the_signature() -> None:
    key = signing_key(SPEC_SECRET)
    assert signature(key, SPEC_ID + "x", SPEC_TIMESTAMP, SPEC_BODY) != SPEC_SIGNATURE
    assert signature(key, SPEC_ID, SPEC_TIMESTAMP + 1, SPEC_BODY) != SPEC_SIGNATURE
    assert signature(key, SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY + b" ") != SPEC_SIGNATURE


def test_a_plain_secret_is_its_utf8_bytes_and_a_broken_whsec_one_is_refused() -> None:
    assert signing_key("共享密钥") == "共享密钥".encode()
    with pytest.raises(InvalidSecret, match="base64"):
        signing_key("whsec_not base64!")


def test_the_body_is_the_event_without_personal_fields() -> None:
    (message,) = messages_for(NOTE, [ERP])
    body = json.loads(webhook_body(message))
    assert body == {"id": "REQ-1:8", "request_id": "REQ-1", "sequence": 8,
                    "type": "note_added", "occurred_at": "2026-03-02T01:00:00Z",
                    "payload": {"text": None}}
    assert "13800000000" not in webhook_body(message).decode()
