"""Connecting to Temporal with caseflow's data converter, failing in one clear line."""

from temporalio.client import Client
from temporalio.runtime import Runtime

from runtime.converter import DATA_CONVERTER, process_key_ring


class TemporalUnavailable(Exception):
    """Temporal cannot be reached at the configured address."""


async def connect(address: str, namespace: str, *, runtime: Runtime | None = None) -> Client:
    """A client sealing payloads under the process's key ring; KeyRingError (naming the
    setting) before any connection when the ring is unusable."""
    process_key_ring()
    try:
        return await Client.connect(address, namespace=namespace,
                                    data_converter=DATA_CONVERTER, runtime=runtime)
    except Exception as error:
        reason = " ".join(str(error).split())[:300]
        raise TemporalUnavailable(
            f"cannot reach Temporal at {address} (namespace {namespace}): {reason} "
            "(check CASEFLOW_TEMPORAL_ADDRESS / --temporal-address)") from error
