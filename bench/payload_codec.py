"""The payload codec's cost: sealing and opening real caseflow payloads (a request's workflow
input with its pinned plan, and a status view) with AES-256-GCM, per payload and in bytes;
and the event store's per-customer sealing of a submitted event's personal fields (the
AES-GCM work only: the data key is fetched once per append transaction).
The end-to-end cost is ``bench.request_throughput`` run with and without ``--plain``.

    .venv/bin/python -m bench.payload_codec [--rounds 2000]
"""

import argparse
import asyncio
import json
import time
from datetime import UTC, datetime

from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import pydantic_data_converter

from catalog.loader import DEFAULT_CONFIG_DIR, load_catalog
from domain.plan import plan_request
from domain.request import request_id_for
from domain.state import initial_state
from privacy.keys import KeyRing, generate_key, seal, unseal
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
        sealing, opening = await timed(codec, payload, rounds)
        print(f"{name:30} {payload.ByteSize():>7,} B -> {sealed.ByteSize():>7,} B   "
              f"seal {sealing:6.1f} µs   open {opening:6.1f} µs")
    fields = json.dumps({"customer.name": submission.customer.name,
                         "subject": submission.subject,
                         "description": submission.description}, ensure_ascii=False).encode()
    data_key = generate_key()
    started = time.perf_counter()
    for _ in range(rounds):
        sealed_fields = seal(data_key, fields, context=b"event:bench#1")
    sealing = (time.perf_counter() - started) / rounds * 1e6
    started = time.perf_counter()
    for _ in range(rounds):
        unseal(data_key, sealed_fields, context=b"event:bench#1", what="bench")
    opening = (time.perf_counter() - started) / rounds * 1e6
    print(f"{'event personal fields':30} {len(fields):>7,} B -> {len(sealed_fields):>7,} B   "
          f"seal {sealing:6.1f} µs   open {opening:6.1f} µs")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=2000)
    asyncio.run(main(parser.parse_args().rounds))
