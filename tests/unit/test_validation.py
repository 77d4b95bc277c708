"""Input validation shared by commands and submissions: text the store can hold, and refusals
that name the field and the limit without echoing the value."""

import pytest
from pydantic import ValidationError

from domain import commands as cmd
from domain.authorization import Refused
from domain.decisions import decide
from domain.request import RequestSubmission
from domain.validation import describe, shorten, unprintable
from tests.unit.request_driver import Driver

SUBMISSION = {
    "idempotency_key": "K-1", "channel": "phone", "request_type": "billing_dispute",
    "priority": "P2", "subject": "发票", "submitted_by": "wang.fang",
    "customer": {"id": "CUST-1", "name": "上海星河贸易有限公司"},
}


@pytest.mark.parametrize(("text", "problem"), [
    ("备注\x00", "control character U+0000 at position 2"),
    ("\x1b[31m", "control character U+001B at position 0"),
    ("a\ud800", "lone surrogate U+D800 at position 1"),
    ("第一行\r\n\t第二行\x7f", None),
])
def test_unprintable_names_the_first_bad_character(text: str, problem: str | None) -> None:
    assert unprintable(text) == problem


@pytest.mark.parametrize("path", [("subject",), ("description",), ("customer", "name"),
                                  ("customer", "id"), ("idempotency_key",)])
def test_a_submission_refuses_a_nul_in_any_text(path: tuple[str, ...]) -> None:
    raw = {**SUBMISSION, "customer": dict(SUBMISSION["customer"])}  # type: ignore[arg-type]
    target = raw if len(path) == 1 else raw[path[0]]
    assert isinstance(target, dict)
    target[path[-1]] = "文本\x00"
    with pytest.raises(ValidationError) as refused:
        RequestSubmission.model_validate(raw)
    assert describe(refused.value).startswith(
        f"{'.'.join(path)}: Value error, contains a control character U+0000")


@pytest.mark.parametrize("key", ["", "   ", "\t"])
def test_a_blank_step_key_is_refused(key: str) -> None:
    with pytest.raises(ValidationError) as refused:
        cmd.Claim.model_validate({"actor": {"id": "li.lei"}, "step_key": key})
    assert describe(refused.value) == "step_key: String should have at least 1 character"


def test_a_refusal_of_a_huge_value_is_short() -> None:
    huge = "x" * 1_000_000
    with pytest.raises(ValidationError) as refused:
        RequestSubmission.model_validate({**SUBMISSION, "request_type": huge, huge: 1,
                                          "priority": huge, "subject": huge})
    text = describe(refused.value)
    assert len(text) < 400, text[:400]
    assert "request_type: String should have at most 64 characters" in text
    assert "and 1 more" in text


def test_every_action_field_is_documented() -> None:
    undocumented = [f"{action}.{name}" for action, model in cmd.ACTIONS.items()
                    for name, field in model.model_fields.items() if not field.description]
    assert undocumented == []
    assert all(model.__doc__ for model in cmd.ACTIONS.values())


def test_shorten_says_how_long_the_value_was() -> None:
    assert shorten("短") == "短"
    assert shorten("x" * 100, 10) == "xxxxxxxxxx… (100 characters)"


@pytest.mark.parametrize("key", ["", " ", "nope.1"])
def test_decide_refuses_a_step_key_the_request_lacks_however_the_command_was_built(
        key: str) -> None:
    driver = Driver()
    claim = cmd.Claim.model_construct(actor=driver.owner_of("triage.1"), step_key=key)
    with pytest.raises(Refused, match="has no step"):
        decide(driver.state, claim, driver.now)


def test_decide_refuses_what_is_not_a_command() -> None:
    driver = Driver()
    with pytest.raises(Refused, match="not a command: NoneType"):
        decide(driver.state, None, driver.now)  # type: ignore[arg-type]
