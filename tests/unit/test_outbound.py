"""Outbound messages: which events a subscription is sent, the escalation's text and key, and
the delivery policy's backoff and dead-letter point."""

from datetime import UTC, datetime

import pytest

from domain.actors import SYSTEM
from domain.events import Escalated, EventType, NoteAdded, new_event
from domain.outbound import (
    DeliveryPolicy,
    OutboundMessage,
    Subscription,
    messages_for,
    without_personal_text,
)

AT = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
ESCALATED = new_event("REQ-1", 7, SYSTEM, AT, Escalated(
    clock_id="step:verify.1", breach_number=1, level=2, level_name="部门经理",
    recipient_id="wu.hua", department_id="finance"))
NOTE = new_event("REQ-1", 8, SYSTEM, AT, NoteAdded(text="已联系客户。"))
LOG = Subscription(destination="log", event_types=frozenset({EventType.ESCALATED}))
ERP = Subscription(destination="erp",
                   event_types=frozenset({EventType.ESCALATED, EventType.NOTE_ADDED}))


def test_an_escalation_is_one_message_per_subscribed_destination() -> None:
    messages = messages_for(ESCALATED, [LOG, ERP])
    assert [m.destination for m in messages] == ["log", "erp"]
    first = messages[0]
    assert first.key == "REQ-1:step:verify.1:1:2"
    assert first.recipient_id == "wu.hua"
    assert first.subject == "[SLA 部门经理] REQ-1"
    assert "escalation level 2, event 7" in first.body
    assert first.event["payload"]["recipient_id"] == "wu.hua"


def test_an_event_no_one_subscribed_to_gives_no_message() -> None:
    assert messages_for(NOTE, [LOG]) == []
    (note,) = messages_for(NOTE, [LOG, ERP])
    assert (note.destination, note.key, note.recipient_id) == ("erp", "REQ-1:8", None)


def test_a_message_holds_no_personal_text() -> None:
    """The outbox is a plain table that erasure does not reach, and the escalation webhook
    posts the whole message: neither the customer's words nor the subject may be in it."""
    (note,) = messages_for(NOTE, [ERP])
    assert note.event["payload"]["text"] is None
    assert "已联系客户" not in note.model_dump_json()
    assert isinstance(NOTE.payload, NoteAdded)
    assert NOTE.payload.text == "已联系客户。"  # the event itself is left as it was


def test_a_message_written_before_that_loses_its_personal_text() -> None:
    (today,) = messages_for(NOTE, [ERP])
    before = today.model_copy(update={"subject": "[note_added] 发票金额错误",
                                      "event": NOTE.model_dump(mode="json")})
    assert "已联系客户" in before.model_dump_json()
    assert without_personal_text(before) == today
    assert without_personal_text(today) == today
    untagged = OutboundMessage.model_validate({**today.model_dump(), "subject": "发票金额错误"})
    assert without_personal_text(untagged).subject == "REQ-1"


def test_backoff_doubles_up_to_its_cap_then_dead_letters() -> None:
    policy = DeliveryPolicy(max_attempts=6, initial_delay_seconds=1, backoff_coefficient=2,
                            max_delay_seconds=10)
    assert [policy.delay_after(n) for n in range(1, 7)] == [1, 2, 4, 8, 10, None]


@pytest.mark.parametrize("field", ["max_attempts", "initial_delay_seconds"])
def test_a_policy_without_attempts_or_delay_is_refused(field: str) -> None:
    with pytest.raises(ValueError, match=field):
        DeliveryPolicy.model_validate({field: 0})
