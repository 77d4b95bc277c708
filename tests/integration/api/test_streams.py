"""Server-Sent Events from the event log: an action's events arrive on the request's stream
and on the global one, a reconnect with Last-Event-ID resumes exactly after it, a customer's
stream carries only public events without internal detail, and an integration sees only its
channel's requests."""

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from tests.integration.api.conftest import Api

pytestmark = pytest.mark.integration


class Stream:
    def __init__(self, response: httpx.Response) -> None:
        self._lines = response.aiter_lines()

    async def next_event(self) -> dict[str, Any]:
        """The next event frame (comments and retry hints skipped)."""
        fields: dict[str, str] = {}
        async with asyncio.timeout(30):
            async for line in self._lines:
                if line == "":
                    if "data" in fields:
                        event: dict[str, Any] = json.loads(fields["data"])
                        assert fields["id"] == str(event["id"])
                        assert fields["event"] == event["event_type"]
                        return event
                    fields = {}
                elif not line.startswith(":"):
                    name, _, value = line.partition(": ")
                    fields[name] = value
        raise AssertionError("the stream ended")

    async def until(self, event_type: str) -> list[dict[str, Any]]:
        seen = [await self.next_event()]
        while seen[-1]["event_type"] != event_type:
            seen.append(await self.next_event())
        return seen


@asynccontextmanager
async def stream(api: Api, path: str, headers: dict[str, str]) -> AsyncIterator[Stream]:
    async with api.http.stream("GET", path, headers=headers) as response:
        assert response.status_code == 200, await response.aread()
        assert response.headers["content-type"].startswith("text/event-stream")
        yield Stream(response)


async def test_a_request_stream_delivers_actions_and_resumes(api: Api) -> None:
    view = await api.submit()
    rid, owner = view["request_id"], api.staff(view["owner_id"])
    async with stream(api, f"/api/v1/requests/{rid}/events", owner) as events:
        history = await events.until("step_started")
        assert history[0]["event_type"] == "submitted"
        note = await api.http.post(f"/api/v1/requests/{rid}/add_note", headers=owner,
                                   json={"text": "已致电客户"})
        assert note.status_code == 200
        noted = (await events.until("note_added"))[-1]
        assert noted["payload"]["text"] == "已致电客户"
        assert noted["actor_id"] == view["owner_id"]
    ids = [event["id"] for event in [*history, noted]]
    assert ids == sorted(ids)
    resumed_after = history[0]["id"]
    async with stream(api, f"/api/v1/requests/{rid}/events",
                      {**owner, "Last-Event-ID": str(resumed_after)}) as again:
        replay = [await again.next_event() for _ in range(len(ids) - 1)]
    assert [event["id"] for event in replay] == ids[1:]


async def test_global_stream_and_what_customers_and_integrations_see(api: Api) -> None:
    view = await api.submit()
    rid, owner = view["request_id"], api.staff(view["owner_id"])
    link = (await api.http.post(f"/api/v1/requests/{rid}/customer-links", headers=owner,
                                json={})).json()["token"]
    async with stream(api, "/api/v1/events", api.staff("zhou.min")) as everything, stream(
            api, f"/api/v1/requests/{rid}/events", api.bearer(link)) as customer, stream(
            api, "/api/v1/events", api.bearer(api.keys.web_reader)) as web:
        for action, body in (("claim", {}), ("add_note", {"text": "内部：客户难缠"}),
                             ("ask_customer", {"question": "请提供合同编号"})):
            response = await api.http.post(f"/api/v1/requests/{rid}/{action}", headers=owner,
                                           json=body)
            assert response.status_code == 200, response.text
        seen = await everything.until("waiting_on_customer")
        assert {"claimed", "note_added", "waiting_on_customer"} <= {e["event_type"]
                                                                   for e in seen}
        public = await customer.until("waiting_on_customer")
        assert [e["event_type"] for e in public] == ["submitted", "waiting_on_customer"]
        assert public[-1]["text"] == "请提供合同编号"
        assert all("payload" not in e and "actor_id" not in e for e in public)
        # The phone request's events went before; the web key's first event is its own.
        web_request = await api.http.post(
            "/api/v1/requests", json=api.submission_body(channel="web"),
            headers={**api.bearer(api.keys.web), "Idempotency-Key": "WEB-1"})
        assert web_request.status_code == 200, web_request.text
        first = await web.next_event()
        assert first["request_id"] == web_request.json()["request_id"]
    refused = await api.http.get(f"/api/v1/requests/{rid}/events",
                                 headers=api.bearer(api.keys.web))
    assert refused.status_code == 403
