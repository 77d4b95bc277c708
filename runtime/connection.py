"""Connecting to Temporal with caseflow's data converter, failing in one clear line."""

from temporalio.client import Client
from temporalio.runtime import Runtime

from runtime.converter import DATA_CONVERTER, process_key_ring
from runtime.transport import TemporalTransport


class TemporalUnavailable(Exception):
    """Temporal cannot be reached at the configured address."""


async def connect(address: str, namespace: str, *, runtime: Runtime | None = None,
                  transport: TemporalTransport | None = None) -> Client:
    """A client sealing payloads under the process's key ring, over ``transport`` (plaintext
    when None); KeyRingError (naming the setting) before any connection when the ring is
    unusable."""
    process_key_ring()
    transport = transport or TemporalTransport()
    try:
        return await Client.connect(address, namespace=namespace, data_converter=DATA_CONVERTER,
                                    runtime=runtime, tls=transport.tls or False,
                                    api_key=transport.api_key)
    except Exception as error:
        reason = " ".join(str(error).split())[:300]
        raise TemporalUnavailable(
            f"cannot reach Temporal at {address} (namespace {namespace}, "
            f"{transport.describe()}): {reason} (check CASEFLOW_TEMPORAL_ADDRESS / "
            "--temporal-address and the CASEFLOW_TEMPORAL_TLS_* settings)") from error
