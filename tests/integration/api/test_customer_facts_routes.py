"""Tier changes, merges and unmerges over HTTP on a real uvicorn and PostgreSQL: a manager
merges a suggested duplicate and every view follows (the story under either id, search,
duplicate suggestions), the unmerge gives the duplicate its story back and the pair is
suggested again; the CRM's key records a tier change beside the tiers on the requests; each
fact is written once by its key, conflicting ones are refused with the reason, anyone else
is refused, and nothing enters the requests' logs."""

import asyncio
import uuid
from typing import Any

import pytest
from sqlalchemy import select

from analysis import queries
from eventstore.customer_facts import customer_links
from schema.tables import customer_events
from tests.integration.api.conftest import Api

pytestmark = pytest.mark.integration

MANAGER = "zhou.min"  # the fast organisation's customer service supervisor
OFFICER = "yu.wenbo"  # its data protection officer


def _key() -> dict[str, str]:
    return {"Idempotency-Key": f"CF-{uuid.uuid4().hex[:12]}"}


async def _twins(api: Api) -> tuple[str, str, str]:
    tag = uuid.uuid4().hex[:6].upper()
    survivor, duplicate = f"CUST-S-{tag}", f"CUST-D-{tag}"
    await api.submit(customer={"id": survivor, "name": f"温州{tag}鞋业有限公司", "tier": "key"})
    await api.submit(customer={"id": duplicate, "name": f"温州{tag}鞋业 有限公司",
                               "tier": "standard"})
    return survivor, duplicate, f"温州{tag}"


def _suggested(body: dict[str, Any]) -> list[list[str]]:
    return [sorted(s["customer_ids"]) for s in body["suggestions"]]


async def _get(api: Api, path: str, **params: str) -> Any:
    response = await api.http.get(path, headers=api.staff(MANAGER), params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_merge_is_followed_everywhere_and_its_unmerge_reverses_it(api: Api) -> None:
    survivor, duplicate, shared = await _twins(api)
    pair = sorted([survivor, duplicate])
    assert pair in _suggested(await _get(api, "/api/v1/analysis/duplicates"))
    events = await api.event_count()

    merge = {**api.staff(MANAGER), **_key()}
    body = {"duplicate_id": duplicate, "reason": "same_company"}
    first = await api.http.post(f"/api/v1/customers/{survivor}/merge", headers=merge, json=body)
    assert first.status_code == 201, first.text
    assert first.json()["recorded"] is True
    retried = await api.http.post(f"/api/v1/customers/{survivor}/merge", headers=merge,
                                  json=body)
    assert (retried.status_code, retried.json()) == (200, {**first.json(), "recorded": False})
    other = await api.http.post(f"/api/v1/customers/{survivor}/merge", headers=merge,
                                json={**body, "reason": "entry_error"})
    assert other.status_code == 409
    assert "already used" in other.json()["detail"]

    story = await _get(api, f"/api/v1/customers/{duplicate}")
    assert story["customer_id"] == survivor
    assert story["merged_ids"] == [duplicate]
    assert {r["customer_id"] for r in story["requests"]} == {survivor, duplicate}
    assert {**await _get(api, f"/api/v1/customers/{survivor}"),
            "seconds_since_last_contact": 0} == {**story, "seconds_since_last_contact": 0}
    assert pair not in _suggested(await _get(api, "/api/v1/analysis/duplicates"))
    found = await _get(api, "/api/v1/customers", q=shared)
    assert [m["customer_id"] for m in found] == [survivor]
    assert found == [m.model_dump(mode="json")
                     for m in await queries.search(api.flow.engine, shared, limit=20)]

    backwards = await api.http.post(f"/api/v1/customers/{duplicate}/merge",
                                    headers={**api.staff(MANAGER), **_key()},
                                    json={"duplicate_id": survivor, "reason": "same_company"})
    assert backwards.status_code == 409
    assert f"{duplicate} is already merged into {survivor}" in backwards.json()["detail"]

    merge_key = merge["Idempotency-Key"]
    undo = await api.http.post(f"/api/v1/customers/{duplicate}/unmerge",
                               headers={**api.staff(MANAGER), **_key()},
                               json={"merge_key": merge_key})
    assert undo.status_code == 201, undo.text
    assert undo.json()["fact"]["reverses"] == merge_key
    alone = await _get(api, f"/api/v1/customers/{duplicate}")
    assert alone["customer_id"] == duplicate
    assert alone["merged_ids"] == []
    assert [r["customer_id"] for r in alone["requests"]] == [duplicate]
    assert pair in _suggested(await _get(api, "/api/v1/analysis/duplicates"))
    twice = await api.http.post(f"/api/v1/customers/{survivor}/unmerge",
                                headers={**api.staff(MANAGER), **_key()},
                                json={"merge_key": merge_key})
    assert twice.status_code == 409
    assert "already reversed" in twice.json()["detail"]

    assert await api.event_count() == events, "customer facts stay out of request logs"


async def test_a_tier_change_is_an_event_beside_the_tier_of_each_request(api: Api) -> None:
    survivor, duplicate, _ = await _twins(api)
    crm = {**api.bearer(api.keys.crm), **_key()}
    changed = await api.http.post(f"/api/v1/customers/{duplicate}/tier", headers=crm,
                                  json={"tier": "strategic"})
    assert changed.status_code == 201, changed.text
    assert changed.json()["fact"]["by"] == "integration:crm"
    story = await _get(api, f"/api/v1/customers/{duplicate}")
    assert [r["tier"] for r in story["requests"]] == ["standard"]  # as of that request
    assert [tier for _, tier in story["tiers"]] == ["standard", "strategic"]
    by_manager = await api.http.post(f"/api/v1/customers/{duplicate}/tier",
                                     headers={**api.staff(MANAGER), **_key()},
                                     json={"tier": "key"})
    assert by_manager.status_code == 201, by_manager.text
    links = await customer_links(api.flow.engine)
    assert [t.value for _, t in links.tier_changes[duplicate]] == ["strategic", "key"]

    await api.http.post(f"/api/v1/customers/{survivor}/merge",
                        headers={**api.staff(MANAGER), **_key()},
                        json={"duplicate_id": duplicate, "reason": "same_contact"})
    merged = await api.http.post(f"/api/v1/customers/{duplicate}/tier",
                                 headers={**api.bearer(api.keys.crm), **_key()},
                                 json={"tier": "key"})
    assert merged.status_code == 409
    assert f"change the tier of {survivor}" in merged.json()["detail"]


async def test_only_managers_and_the_crm_and_only_good_input(api: Api) -> None:
    survivor, duplicate, _ = await _twins(api)
    before = await customer_links(api.flow.engine)
    merge = (f"/api/v1/customers/{survivor}/merge",
             {"duplicate_id": duplicate, "reason": "same_company"})
    tier = (f"/api/v1/customers/{survivor}/tier", {"tier": "key"})
    unmerge = (f"/api/v1/customers/{survivor}/unmerge", {"merge_key": "M-1"})
    refused = [(api.staff("wang.fang"), merge), (api.staff("wang.fang"), tier),
               (api.bearer(api.keys.crm), merge), (api.bearer(api.keys.phone), tier),
               (api.bearer(api.keys.crm), unmerge)]
    for headers, (path, body) in refused:
        response = await api.http.post(path, headers={**headers, **_key()}, json=body)
        assert response.status_code == 403, (path, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")

    manager = api.staff(MANAGER)
    bad: list[tuple[str, dict[str, Any], int]] = [
        (merge[0], {**merge[1], "reason": "looks alike"}, 422),
        (merge[0], {"duplicate_id": duplicate}, 422),
        (merge[0], {**merge[1], "extra": 1}, 422),
        (tier[0], {"tier": "gold"}, 422),
        ("/api/v1/customers/CUST-NOBODY/merge", merge[1], 404),
        (f"/api/v1/customers/{survivor}/merge",
         {**merge[1], "duplicate_id": survivor}, 422),
        (unmerge[0], unmerge[1], 404)]
    for path, sent, status in bad:
        response = await api.http.post(path, headers={**manager, **_key()}, json=sent)
        assert response.status_code == status, (path, sent, response.text)
        assert len(response.json()["detail"]) < 300
    keyless = await api.http.post(merge[0], headers=manager, json=merge[1])
    assert keyless.status_code == 400
    assert "Idempotency-Key" in keyless.json()["detail"]
    assert (await customer_links(api.flow.engine)).keys == before.keys, "nothing written"


async def test_erasing_a_merged_customer_leaves_only_ids_in_their_facts(api: Api) -> None:
    survivor, duplicate, _ = await _twins(api)
    response = await api.http.post(f"/api/v1/customers/{survivor}/merge",
                                   headers={**api.staff(MANAGER), **_key()},
                                   json={"duplicate_id": duplicate, "reason": "same_company"})
    assert response.status_code == 201, response.text
    erased = await api.http.post(f"/api/v1/customers/{duplicate}/erasure",
                                 headers=api.staff(OFFICER))
    assert erased.status_code == 200, erased.text
    story = await _get(api, f"/api/v1/customers/{survivor}")
    names = {r["customer_id"]: r["customer_name"] for r in story["requests"]}
    assert names[duplicate] != names[survivor]
    assert duplicate not in names[duplicate]
    assert "温州" not in names[duplicate], "the duplicate's name is erased in the story too"
    async with api.flow.engine.connect() as conn:
        rows = (await conn.execute(select(customer_events).where(
            customer_events.c.duplicate_id == duplicate))).all()
    texts = {str(value) for row in rows for value in row._mapping.values()}
    assert rows
    assert not any("温州" in text for text in texts)


async def test_concurrent_merges_write_one_fact(api: Api) -> None:
    survivor, duplicate, _ = await _twins(api)
    path = f"/api/v1/customers/{survivor}/merge"
    body = {"duplicate_id": duplicate, "reason": "same_company"}
    same = {**api.staff(MANAGER), **_key()}
    answers = await asyncio.gather(*(api.http.post(path, headers=same, json=body)
                                      for _ in range(4)))
    assert sorted(a.status_code for a in answers) == [200, 200, 200, 201]
    assert len({a.json()["fact"]["occurred_at"] for a in answers}) == 1, "one fact, 4 answers"
    survivor2, duplicate2, _ = await _twins(api)
    path2 = f"/api/v1/customers/{survivor2}/merge"
    body2 = {"duplicate_id": duplicate2, "reason": "same_company"}
    answers = await asyncio.gather(*(api.http.post(
        path2, headers={**api.staff(MANAGER), **_key()}, json=body2) for _ in range(4)))
    assert sorted(a.status_code for a in answers) == [201, 409, 409, 409]
    links = await customer_links(api.flow.engine)
    assert [m.duplicate_id for m in links.merges.values()].count(duplicate2) == 1


async def test_the_routes_are_documented(api: Api) -> None:
    spec = (await api.http.get("/openapi.json")).json()
    for route, body in (("merge", "MergeBody"), ("unmerge", "UnmergeBody"), ("tier", "TierBody")):
        operation = spec["paths"][f"/api/v1/customers/{{customer_id}}/{route}"]["post"]
        assert {"201", "400", "403", "404", "409", "422"} <= set(operation["responses"]), route
        assert "idempotency-key" in [p["name"].lower() for p in operation["parameters"]], route
        assert operation["requestBody"]["content"]["application/json"]["schema"]["$ref"] \
            .endswith(body)
    assert set(spec["components"]["schemas"]["MergeReason"]["enum"]) == {
        "same_company", "same_contact", "entry_error"}
