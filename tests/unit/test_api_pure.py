"""The API's pure parts: how a domain refusal's sentence maps to a kind, the queue cursor, the
keys file and the API settings, each refusing bad input with a message naming it."""

from datetime import UTC, datetime
from pathlib import Path

import pytest
from temporalio.api.failure.v1 import Failure
from temporalio.converter import DataConverter
from temporalio.exceptions import ApplicationError

from api.api_keys import ApiKeys, new_key
from api.settings import api_settings_from_env
from domain.authorization import RefusalKind
from eventstore.queues import BadCursor, decode_cursor, encode_cursor
from workflows.entry import invalid, refusal, refusal_kind


def test_a_refusal_kind_survives_the_failure_temporal_carries() -> None:
    converter = DataConverter.default.failure_converter
    payloads = DataConverter.default.payload_converter
    for kind in RefusalKind:
        failure = Failure()
        converter.to_failure(refusal(kind, "no"), payloads, failure)
        carried = converter.from_failure(failure, payloads)
        assert isinstance(carried, ApplicationError)
        assert refusal_kind(carried) is kind
    assert refusal_kind(invalid("action: bad")) is RefusalKind.INVALID
    # A refusal from a worker of the release before kinds carries no details.
    assert refusal_kind(ApplicationError("no", type="Refused")) is RefusalKind.CONFLICT


def test_a_cursor_round_trips_and_garbage_is_refused() -> None:
    at = datetime(2026, 12, 2, 6, 0, tzinfo=UTC)
    assert decode_cursor(encode_cursor(at, "r-1")) == (at, "r-1")
    for garbage in ("not-a-cursor", "", "W10", encode_cursor(at, "r")[:-3]):
        with pytest.raises(BadCursor):
            decode_cursor(garbage)


def test_the_keys_file_holds_hashes_and_refuses_mistakes(tmp_path: Path) -> None:
    key, digest = new_key()
    other, _ = new_key()
    path = tmp_path / "keys.toml"
    path.write_text(f'[[integrations]]\nid = "crm"\nchannel = "sales"\noperations = ["submit"]\n'
                    f'submit_as = "wang.fang"\nkey_sha256 = ["{digest}"]\n', encoding="utf-8")
    keys = ApiKeys.load(path)
    principal = keys.principal(key)
    assert principal is not None
    assert (principal.integration_id, principal.channel.value) == ("crm", "sales")
    assert keys.principal(other) is None
    assert key not in path.read_text()
    path.write_text(path.read_text().replace('"sales"', '"fax"'), encoding="utf-8")
    with pytest.raises(ValueError, match=r"keys.toml: integrations.0.channel"):
        ApiKeys.load(path)
    path.write_text("[[integrations]\n", encoding="utf-8")
    with pytest.raises(ValueError, match="CASEFLOW_API_KEYS_FILE"):
        ApiKeys.load(path)


def test_api_settings_name_the_setting_that_is_wrong() -> None:
    settings = api_settings_from_env({"CASEFLOW_API_PORT": "8443", "CASEFLOW_API_DEV_MODE": "1"})
    assert (settings.port, settings.dev_mode) == (8443, True)
    for env, name in (({"CASEFLOW_API_PORT": "99999"}, "CASEFLOW_API_PORT"),
                      ({"CASEFLOW_API_DEV_MODE": "perhaps"}, "CASEFLOW_API_DEV_MODE"),
                      ({"CASEFLOW_API_RATE_PER_MINUTE": "-1"}, "CASEFLOW_API_RATE_PER_MINUTE")):
        with pytest.raises(ValueError, match=name):
            api_settings_from_env(env)
