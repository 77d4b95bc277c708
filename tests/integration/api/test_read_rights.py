"""Per-relation read rights over HTTP (``domain.visibility``): a request, its live events, its
customer links and the queues are open to the people it touched and the members of the
departments it passed through, and to nobody else; a department it reaches later (a stage,
a handoff) sees it from then on, on the global stream too."""

from typing import Any

import pytest

from tests.integration.api.conftest import Api
from tests.integration.api.test_requests import _act, _step
from tests.integration.api.test_streams import stream

pytestmark = pytest.mark.integration

LEGAL_HEAD = "yu.wenbo"
FINANCE = ("lin.xiaoyan", "guo.peng", "zheng.li", "he.guoqing")
REFUSAL = "may not read request"


async def _reads(api: Api, rid: str, person: str) -> int:
    response = await api.http.get(f"/api/v1/requests/{rid}", headers=api.staff(person))
    if response.status_code == 403:
        assert REFUSAL in response.json()["detail"]
    return response.status_code


async def _queued(api: Api, rid: str, person: str) -> set[str]:
    """The queues in which ``person`` finds ``rid``."""
    found = set()
    for queue in ("mine", "owned", "department", "role", "breaching", "breached", "waiting"):
        response = await api.http.get("/api/v1/requests", headers=api.staff(person),
                                      params={"queue": queue, "within_hours": 720})
        assert response.status_code == 200, response.text
        if rid in {item["request_id"] for item in response.json()["items"]}:
            found.add(queue)
    return found


async def _into_investigation(api: Api, view: dict[str, Any]) -> dict[str, Any]:
    rid, owner = view["request_id"], api.staff(view["owner_id"])
    triage = _step(await _act(api, rid, "claim", owner, {}), "triage")
    await _act(api, rid, "claim", api.staff(triage["owner_id"]), {"step_key": triage["step_key"]})
    return await _act(api, rid, "complete_step", api.staff(triage["owner_id"]),
                      {"step_key": triage["step_key"]})


async def test_who_may_read_a_request_follows_its_path(api: Api) -> None:
    view = await api.submit(person="wang.fang")
    rid = view["request_id"]
    insiders = {"wang.fang", view["owner_id"], "zhou.min", "wu.jianguo", "zhang.wei"}
    for person in sorted(insiders):
        assert await _reads(api, rid, person) == 200, person
    # Finance has no step yet, and legal never had one: neither reads it, by any route.
    for person in (*FINANCE, LEGAL_HEAD, "han.mei"):
        assert await _reads(api, rid, person) == 403, person
        events = await api.http.get(f"/api/v1/requests/{rid}/events",
                                    headers=api.staff(person))
        assert events.status_code == 403
        link = await api.http.post(f"/api/v1/requests/{rid}/customer-links",
                                   headers=api.staff(person), json={})
        assert link.status_code == 403
        assert await _queued(api, rid, person) == set()
    assert "department" in await _queued(api, rid, "zhou.min")

    view = await _into_investigation(api, view)
    # The investigation stage has a step in finance: all of finance reads it now.
    for person in FINANCE:
        assert await _reads(api, rid, person) == 200, person
    assert await _reads(api, rid, LEGAL_HEAD) == 403
    assert "department" in await _queued(api, rid, "he.guoqing")
    assert await _reads(api, "0" * 32, "zhou.min") == 404


async def test_the_global_stream_shows_only_readable_requests(api: Api) -> None:
    """Legal's head follows every event: nothing of a request that never reached legal gets
    through, and the one handed to legal shows (its events are judged as they are when the
    stream reads them, so earlier ones of it may show too: legal may read it all by then)."""
    unrelated = await api.submit()
    handed = await api.submit()
    async with stream(api, "/api/v1/events", api.staff(LEGAL_HEAD)) as legal, stream(
            api, "/api/v1/events", api.staff("zhou.min")) as service:
        await _act(api, unrelated["request_id"], "add_note", api.staff(unrelated["owner_id"]),
                   {"text": "内部备注"})
        view = await _into_investigation(api, handed)
        tech = _step(view, "investigate", "technical_support")
        await _act(api, handed["request_id"], "hand_off", api.staff(tech["owner_id"]), {
            "step_key": tech["step_key"], "to_department_id": "legal", "role": "specialist",
            "reason": "涉及合同条款"})
        shown = await legal.until("handed_off")
        assert {event["request_id"] for event in shown} == {handed["request_id"]}
        seen = await service.until("handed_off")
        assert unrelated["request_id"] in {event["request_id"] for event in seen}
    assert await _reads(api, handed["request_id"], LEGAL_HEAD) == 200
    assert await _reads(api, unrelated["request_id"], LEGAL_HEAD) == 403
