"""TLS to the Temporal frontend, against a TLS-terminating loopback proxy in front of the real
dev server: a worker and client with the CA, a client certificate and the server name work a
request through it; without a client certificate, or trusting another CA, the connection is
refused in one line; bad TLS settings stop at start naming the setting."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry
from temporalio.testing import WorkflowEnvironment

from domain.catalog import Catalog
from eventstore.engine import create_engine
from kpi.metrics import CaseflowMetrics
from runtime.connection import TemporalUnavailable, connect
from runtime.settings import Settings
from runtime.transport import (
    API_KEY_SETTING,
    CA_SETTING,
    CERT_SETTING,
    KEY_SETTING,
    SERVER_NAME_SETTING,
    TLS_SETTING,
    TransportSettingError,
    transport_from,
)
from tests.integration.requests import billing_dispute, temporal_address
from tests.integration.tls_proxy import SERVER_NAME, Pki, make_pki, tls_proxy
from worker import build_worker
from workflows import client as calls


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return make_pki(tmp_path / "pki")


def mtls_env(pki: Pki) -> dict[str, str]:
    return {CA_SETTING: str(pki.ca), CERT_SETTING: str(pki.client_cert),
            KEY_SETTING: str(pki.client_key), SERVER_NAME_SETTING: SERVER_NAME}


@pytest.fixture
async def mtls_address(temporal_env: WorkflowEnvironment, pki: Pki) -> AsyncIterator[str]:
    async with tls_proxy(temporal_address(temporal_env), pki, require_client_cert=True) as address:
        yield address


async def test_a_request_runs_over_mutual_tls(mtls_address: str, pki: Pki, pg_store_url: str,
                                              fast_catalog: Catalog) -> None:
    transport = transport_from(mtls_env(pki))
    assert transport.describe() == "TLS with a client certificate"
    client = await connect(mtls_address, "default", transport=transport)
    settings = Settings(task_queue="caseflow-tls", database_url=pg_store_url)
    engine = create_engine(pg_store_url)
    worker = build_worker(client, settings, engine=engine, catalog=fast_catalog,
                          metrics=CaseflowMetrics(CollectorRegistry()))
    try:
        async with worker:
            submitted = await calls.submit_request(client, fast_catalog,
                                                     billing_dispute(fast_catalog),
                                                     task_queue=settings.task_queue)
            view = await calls.request_status(client, submitted.request_id)
            assert view.customer_name == "上海星河贸易有限公司"
    finally:
        await engine.dispose()


async def test_without_a_client_certificate_or_with_another_ca_it_is_refused(
        mtls_address: str, pki: Pki, tmp_path: Path) -> None:
    server_only = {CA_SETTING: str(pki.ca), SERVER_NAME_SETTING: SERVER_NAME}
    with pytest.raises(TemporalUnavailable, match=r"cannot reach Temporal .*\(namespace "
                       r"default, TLS\).*CASEFLOW_TEMPORAL_TLS_\*"):
        await connect(mtls_address, "default", transport=transport_from(server_only))
    other = make_pki(tmp_path / "other", authority="someone else's CA")
    with pytest.raises(TemporalUnavailable, match="TLS with a client certificate"):
        await connect(mtls_address, "default",
                      transport=transport_from({**mtls_env(pki), CA_SETTING: str(other.ca)}))


def test_tls_settings_are_validated_at_start(pki: Pki, tmp_path: Path) -> None:
    assert transport_from({}).tls is None
    assert transport_from({TLS_SETTING: "true"}).tls is not None
    with_key = transport_from({API_KEY_SETTING: "secret-api-key"})
    assert (with_key.tls is not None, with_key.api_key) == (True, "secret-api-key")
    assert "secret-api-key" not in with_key.describe()
    key_file = tmp_path / "api-key"
    key_file.write_text("from-a-file\n")
    assert transport_from({f"{API_KEY_SETTING}_FILE": str(key_file)}).api_key == "from-a-file"
    broken = tmp_path / "broken.pem"
    broken.write_text("-----BEGIN CERTIFICATE-----\nnot base64\n")
    cases = [
        ({CERT_SETTING: str(pki.client_cert)}, "go together"),
        ({CA_SETTING: str(tmp_path / "missing.crt")}, f"{CA_SETTING}=.*cannot read"),
        ({CA_SETTING: str(broken)}, f"{CA_SETTING}: not a PEM certificate"),
        ({CERT_SETTING: str(pki.client_cert), KEY_SETTING: str(pki.client_cert)},
         f"{KEY_SETTING}: not an unencrypted PEM private key"),
        ({TLS_SETTING: "yes"}, "must be true or false"),
        ({TLS_SETTING: "false", API_KEY_SETTING: "k"}, "contradicts"),
    ]
    for env, problem in cases:
        with pytest.raises(TransportSettingError, match=problem):
            transport_from(env)
