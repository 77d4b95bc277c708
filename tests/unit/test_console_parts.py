"""The console's pure parts: refusals in the viewer's language, SLA badges against the warning
thresholds, action forms from the command models, the OIDC settings and PKCE challenge, and
catalogs that translate every message the console's code and templates use."""

import base64
import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from babel.messages.extract import extract_from_dir

from console.badges import badge
from console.forms import action_fields, command_input
from console.i18n import translations
from console.oidc import challenge
from console.refusals import translated
from console.settings import OidcSettings, console_settings_from_env
from domain.calendar import always_open
from domain.sla_clock import start_clock
from workflows.messages import ClockView

ZH = translations("zh_CN").gettext
CONSOLE = Path(__file__).resolve().parents[2] / "console"
DYNAMIC_PREFIXES = ("action.", "field.", "help.", "choice.", "status.", "public.", "step.",
                    "queue.", "tier.", "channel.", "clock.", "entry.", "kpi.")


def test_rights_refusals_read_in_chinese_with_their_parts() -> None:
    message = ("han.mei may not resolve request 3f2a: only the head, request owner, "
               "supervisor may")
    assert translated(message, ZH) == (
        "han.mei 无权对请求 3f2a执行“解决”：只有部门负责人、请求负责人、主管可以。")
    step = "lin.xiaoyan may not claim step triage.1 of request 3f2a: only the step owner may"
    assert translated(step, ZH) == (
        "lin.xiaoyan 无权对请求 3f2a 的步骤 triage.1执行“认领”：只有步骤负责人可以。")


def test_state_refusals_and_unknown_ones_are_never_lost() -> None:
    assert translated("request 3f2a still has open steps: investigate.1", ZH) == (
        "请求 3f2a 还有未完成的步骤：investigate.1")
    assert translated("nobody in 财务部 (finance) has role 'agent' "
                      "(roles there: accountant, head, supervisor)", ZH) == (
        "财务部（finance）没有角色为 agent 的人（该部门的角色：accountant、部门负责人、主管）")
    assert translated("something new went wrong", ZH) == (
        "服务器拒绝了此操作：something new went wrong")


def _clock_view(elapsed: float, target: float = 1000.0, paused: bool = False) -> ClockView:
    at = datetime(2026, 12, 2, 9, tzinfo=UTC)
    clock = start_clock("resolution", target, always_open(), at)
    return ClockView(clock_id="resolution", elapsed_seconds=elapsed,
                     remaining_seconds=max(target - elapsed, 0), target_seconds=target,
                     paused=paused, deadline=at + timedelta(seconds=target), clock=clock)


@pytest.mark.parametrize(("elapsed", "css", "remaining"), [
    (100, "level-0", 900), (500, "level-1", 500), (800, "level-2", 200), (950, "level-3", 50),
    (1300, "breached", -300)])
def test_badges_take_the_colour_of_each_threshold_passed(elapsed: float, css: str,
                                                          remaining: float) -> None:
    found = badge(_clock_view(elapsed), (0.5, 0.75, 0.9), datetime.now(UTC))
    assert (found.css, found.remaining_seconds) == (css, remaining)


def test_a_paused_clock_is_marked_paused_not_outside_hours() -> None:
    found = badge(_clock_view(10, paused=True), (0.5,), datetime.now(UTC))
    assert found.paused
    assert not found.outside_hours


def test_action_forms_come_from_the_command_models() -> None:
    fields = {spec.name: spec for spec in action_fields("customer_feedback")}
    assert (fields["accepted"].kind, fields["satisfaction"].kind) == ("bool", "number")
    assert fields["comment"].kind == "textarea"
    assert not fields["comment"].required
    assert "actor" not in fields
    ask = {spec.name: spec for spec in action_fields("ask_customer")}
    assert ask["reason"].choices == ("customer", "third_party", "approval")
    assert command_input("customer_feedback", {"accepted": "false", "satisfaction": "2",
                                               "comment": " "}) == {
        "accepted": False, "satisfaction": "2"}
    assert command_input("complete_step", {"step_key": "triage.1", "outcome": ""}) == {
        "step_key": "triage.1"}


def test_oidc_settings_come_whole_or_not_at_all() -> None:
    assert console_settings_from_env({}).oidc is None
    with pytest.raises(ValueError, match="CASEFLOW_CONSOLE_OIDC_TOKEN_URL"):
        console_settings_from_env({"CASEFLOW_CONSOLE_OIDC_AUTHORIZE_URL": "https://idp/a",
                                   "CASEFLOW_CONSOLE_OIDC_CLIENT_ID": "caseflow"})
    with pytest.raises(ValueError, match="http"):
        console_settings_from_env({"CASEFLOW_CONSOLE_OIDC_AUTHORIZE_URL": "idp/a",
                                   "CASEFLOW_CONSOLE_OIDC_TOKEN_URL": "https://idp/t",
                                   "CASEFLOW_CONSOLE_OIDC_CLIENT_ID": "caseflow"})


def test_the_pkce_challenge_is_the_s256_of_the_verifier() -> None:
    found = challenge(OidcSettings(authorize_url="https://idp/auth", token_url="https://idp/t",
                                   client_id="caseflow"), "http://127.0.0.1/cb")
    query = parse_qs(urlsplit(found.url).query)
    digest = base64.urlsafe_b64encode(hashlib.sha256(found.verifier.encode()).digest())
    assert query["code_challenge"] == [digest.rstrip(b"=").decode()]
    assert query["code_challenge_method"] == ["S256"]
    assert query["state"] == [found.state]
    assert len(found.verifier) >= 43


def test_every_message_of_the_console_has_a_chinese_translation() -> None:
    found = extract_from_dir(str(CONSOLE), method_map=[("**.py", "python"),
                                                      ("templates/**.html", "jinja2")])
    # A bare prefix ("action.") is the start of an id completed on the page (keyed ids).
    used = {entry[2] for entry in found
            if isinstance(entry[2], str) and entry[2] and entry[2] not in DYNAMIC_PREFIXES}
    zh = translations("zh_CN")._catalog
    assert not sorted(m for m in used if m not in zh)
    # English reads the English ids as they are; the keyed ones need their English text.
    english = translations("en")._catalog
    keyed = [m for m in zh if isinstance(m, str) and m.startswith(DYNAMIC_PREFIXES)]
    assert keyed
    assert not [m for m in keyed if m not in english]
