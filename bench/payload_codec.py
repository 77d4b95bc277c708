"""The payload codec's cost: sealing and opening real caseflow payloads (a request's workflow
input with its pinned plan, and a status view) with AES-256-GCM, per payload and in bytes.
The end-to-end cost is ``bench.request_throughput`` run with and without ``--plain``.

    .venv/bin/python -m bench.payload_codec [--rounds 2000]
"""

import argparse
import asyncio
import time
from datetime import UTC, datetime

from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import pydantic_data_converter

from domain.configuration import DEFAULT_CONFIG_DIR, load_catalog
from domain.plan import plan_request
from domain.request import request_id_for
from domain.state import initial_state
from privacy.keys import KeyRing, generate_key
from runtime.converter import EncryptionCodec
from tests.integration.requests import billing_dispute
from workflows.messages import RequestWorkflowInput, view_of


async def timed(codec: EncryptionCodec, payload: Payload, rounds: int) -> tuple[float, float]:
    """Microseconds to seal, then to open, one payload (mean over ``rounds``)."""
    started = time.perf_counter()
    for _ in range(rounds):
        [sealed] = await codec.encode([payload])
    sealing = (time.perf_counter() - started) / rounds * 1e6
    started = time.perf_counter()
    for _ in range(rounds):
        await codec.decode([sealed])
    return sealing, (time.perf_counter() - started) / rounds * 1e6


async def main(rounds: int) -> None:
    catalog = load_catalog(DEFAULT_CONFIG_DIR, years=[2026, 2027])
    submission = billing_dispute(catalog)
    plan = plan_request(request_id_for(submission.idempotency_key), submission,
                        templates=catalog.templates, policy=catalog.policy,
                        departments=catalog.departments)
    view = view_of(initial_state(plan), datetime.now(UTC))
    codec = EncryptionCodec(KeyRing(current="bench", keys={"bench": generate_key()}))
    converter = pydantic_data_converter.payload_converter
    for name, value in (("workflow input (pinned plan)", RequestWorkflowInput(plan=plan)),
                        ("status view", view)):
        [payload] = converter.to_payloads([value])
        [sealed] = await codec.encode([payload])
        seal, unseal = await timed(codec, payload, rounds)
        print(f"{name:30} {payload.ByteSize():>7,} B -> {sealed.ByteSize():>7,} B   "
              f"seal {seal:6.1f} µs   open {unseal:6.1f} µs")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=2000)
    asyncio.run(main(parser.parse_args().rounds))
