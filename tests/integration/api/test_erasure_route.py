"""Erasure over HTTP: only a roster person with the data protection role may erase a customer;
anyone else (staff, an integration) is refused with nothing written; an officer's erasure says
what it erased and a second one changes nothing."""

import uuid
from typing import Any

import pytest
from sqlalchemy import func, select

from eventstore.personal import ERASED
from schema.tables import customer_keys, erasures, requests
from tests.integration.api.conftest import Api

pytestmark = pytest.mark.integration

OFFICER = "yu.wenbo"  # the fast organisation's data protection officer


async def _written(api: Api, customer_id: str) -> dict[str, Any]:
    """What an erasure of ``customer_id`` would write, as the store holds it now."""
    async with api.flow.engine.connect() as conn:
        audits = await conn.scalar(select(func.count()).select_from(erasures).where(
            erasures.c.customer_id == customer_id))
        erased_at = await conn.scalar(select(customer_keys.c.erased_at).where(
            customer_keys.c.customer_id == customer_id))
        subjects = list((await conn.scalars(select(requests.c.subject).where(
            requests.c.customer_id == customer_id))).all())
    return {"audits": audits, "erased_at": erased_at, "subjects": subjects}


async def test_only_a_data_protection_officer_erases_and_twice_is_a_no_op(api: Api) -> None:
    customer_id = f"CUST-E-{uuid.uuid4().hex[:8]}"
    submitted = await api.submit(customer={"id": customer_id, "name": "宁波海运有限公司",
                                           "tier": "key"}, subject="提单费用有误")
    request_id = submitted["request_id"]
    path = f"/api/v1/customers/{customer_id}/erasure"
    before = await _written(api, customer_id)
    assert (before["subjects"], before["audits"]) == (["提单费用有误"], 0)
    events = await api.event_count()

    for refused in (api.staff("wang.fang"), api.staff("feng.qian"),
                    api.bearer(api.keys.phone)):
        response = await api.http.post(path, headers=refused)
        assert response.status_code == 403, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
    assert "data_protection" in (await api.http.post(
        path, headers=api.staff("wang.fang"))).json()["detail"]
    assert await _written(api, customer_id) == before
    assert await api.event_count() == events

    first = await api.http.post(path, headers=api.staff(OFFICER))
    assert first.status_code == 200, first.text
    assert first.json() == {"customer_id": customer_id, "requests": 1, "erased": True}
    erased = await _written(api, customer_id)
    assert (erased["subjects"], erased["audits"]) == ([ERASED], 1)
    assert erased["erased_at"] is not None

    again = await api.http.post(path, headers=api.staff(OFFICER))
    assert again.status_code == 200, again.text
    assert again.json() == {"customer_id": customer_id, "requests": 1, "erased": False}
    assert await _written(api, customer_id) == erased
    # The live request's workflow was told once and appends customer_erased itself; a note
    # sent now waits behind that append (the workflow's lock), so the count is settled.
    owner = (await api.http.get(f"/api/v1/requests/{request_id}",
                                headers=api.staff("wang.fang"))).json()["live"]["owner_id"]
    note = await api.http.post(f"/api/v1/requests/{request_id}/add_note",
                               headers=api.staff(owner), json={"text": "已删除"})
    assert note.status_code == 200, note.text
    assert await api.event_count() == events + 2, "one customer_erased, one note"


async def test_an_overlong_customer_id_is_refused_briefly(api: Api) -> None:
    response = await api.http.post(f"/api/v1/customers/{'C' * 500}/erasure",
                                   headers=api.staff(OFFICER))
    assert response.status_code == 422
    assert "C" * 100 not in response.text
