"""The subscriptions file: integrations load with their secrets from a file or the
environment, and every mistake is refused in one line naming the problem."""

from pathlib import Path

import pytest

from delivery.integrations import SubscriptionsError, load_integrations
from domain.events import EventType
from domain.webhooks import signing_key

ERP = """
[[integration]]
name = "erp"
url = "http://127.0.0.1:9/hooks"
event_types = ["submitted", "resolved"]
secret_file = "erp.secret"

[[integration]]
name = "crm"
url = "https://crm.example.cn/caseflow"
event_types = ["cancelled"]
secret_env = "CRM_SECRET"
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "subscriptions.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_integrations_load_with_secrets_from_a_file_and_the_environment(tmp_path: Path) -> None:
    (tmp_path / "erp.secret").write_text("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n")
    erp, crm = load_integrations(_write(tmp_path, ERP), {"CRM_SECRET": "客户关系密钥"})
    assert (erp.name, erp.url) == ("erp", "http://127.0.0.1:9/hooks")
    assert erp.event_types == {EventType.SUBMITTED, EventType.RESOLVED}
    assert erp.key == signing_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    assert crm.key == "客户关系密钥".encode()
    assert crm.subscription().destination == "crm"


@pytest.mark.parametrize(("change", "problem"), [
    (('"resolved"', '"resolvd"'), r"integration\.0\.event_types"),
    (('url = "http://127.0.0.1:9/hooks"', 'url = "not a url"'), r"integration\.0\.url"),
    (('name = "crm"', 'name = "erp"'), "integration 'erp': the name is taken"),
    (('name = "crm"', 'name = "log"'), "integration 'log': the name is taken"),
    (('secret_env = "CRM_SECRET"', ''), "exactly one of secret_file and secret_env"),
    (('secret_env = "CRM_SECRET"', 'secret_env = "UNSET_SECRET"'), "UNSET_SECRET .* unset"),
    (('secret_file = "erp.secret"', 'secret_file = "missing"'), "cannot read its secret_file"),
    (('event_types', 'event_typs'), "event_types: Field required"),
    (('[[integration]]', '[[integration'), "not TOML"),
])
def test_a_mistake_is_refused_in_one_line_naming_it(tmp_path: Path, change: tuple[str, str],
                                                    problem: str) -> None:
    (tmp_path / "erp.secret").write_text("erp-secret")
    path = _write(tmp_path, ERP.replace(*change, 1))
    with pytest.raises(SubscriptionsError, match=problem) as raised:
        load_integrations(path, {"CRM_SECRET": "s"})
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith(f"CASEFLOW_WEBHOOK_SUBSCRIPTIONS_FILE ({path})")


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(SubscriptionsError, match="cannot read: No such file"):
        load_integrations(tmp_path / "absent.toml", {})


def test_the_key_stays_out_of_the_integrations_repr(tmp_path: Path) -> None:
    (tmp_path / "erp.secret").write_text("erp-secret")
    erp, _ = load_integrations(_write(tmp_path, ERP), {"CRM_SECRET": "s"})
    assert "erp-secret" not in repr(erp)
