"""Who may see which report, and the customers' personal fields in them
(domain.report_visibility), on the fast test organisation's roster; and a report withheld for a
reader (kpi.report.withheld)."""

from datetime import UTC, datetime

import pytest

from catalog.loader import load_catalog
from domain.catalog import Catalog
from domain.report_visibility import REPORTING_ROLE, NotVisible, Reader, facts_of, reader_of
from kpi.report.figures import assemble
from kpi.report.model import ReportNames, RequestLine, StepLine
from kpi.report.withheld import WITHHELD, withhold_personal_fields
from tests.paths import FAST_CONFIG

NOW = datetime(2026, 11, 20, tzinfo=UTC)


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog(FAST_CONFIG, years=[2026])


def reader(catalog: Catalog, person: str, *, reporting: bool = False) -> Reader:
    departments = list(catalog.departments.values())
    if reporting:  # give the person the organisation-wide role, as the roster would
        departments = [d.model_copy(update={"members": tuple(
            m.model_copy(update={"roles": m.roles | {REPORTING_ROLE}}) if m.id == person else m
            for m in d.members)}) for d in departments]
    found = reader_of(departments, person)
    assert found is not None
    return found


def test_leaders_members_and_strangers(catalog: Catalog) -> None:
    supervisor = reader(catalog, "zheng.li")
    assert (supervisor.leads, supervisor.member_of) == (frozenset({"finance"}),) * 2
    assert not supervisor.organisation_wide
    assert reader_of(catalog.departments.values(), "nobody.here") is None
    assert reader(catalog, "zhang.wei").leads == frozenset()


def test_report_scopes(catalog: Catalog) -> None:
    head = reader(catalog, "he.guoqing")  # head of finance
    assert head.report_scope("finance", "accountant").department == "finance"
    assert head.report_scope(None, None).department == "finance"  # the one they lead
    with pytest.raises(NotVisible, match="of finance only, not of customer_service"):
        head.report_scope("customer_service", None)
    agent = reader(catalog, "zhang.wei")
    own = agent.report_scope(None, "agent")
    assert (own.department, own.role, own.person) == (None, "agent", "zhang.wei")
    with pytest.raises(NotVisible, match="their own figures only"):
        agent.report_scope("customer_service", None)
    everyone = reader(catalog, "zhang.wei", reporting=True)
    assert everyone.report_scope("finance", None).person is None
    assert everyone.report_scope(None, None).department is None


def test_personal_fields(catalog: Catalog) -> None:
    finance_request = facts_of("guo.peng", "finance", [("legal", "han.mei")])
    service_request = facts_of("zhang.wei", "customer_service",
                               [("finance", "lin.xiaoyan")], others=["wang.fang"])
    legal_head = reader(catalog, "yu.wenbo")
    finance_sup = reader(catalog, "zheng.li")
    agent = reader(catalog, "zhang.wei")
    reporting = reader(catalog, "huang.lei", reporting=True)  # leads technical_support only
    # Leaders see the requests their department owns or holds a step of.
    assert legal_head.sees_personal_fields(finance_request)
    assert finance_sup.sees_personal_fields(finance_request)
    assert finance_sup.sees_personal_fields(service_request)
    assert not legal_head.sees_personal_fields(service_request)
    # An agent sees their own; an organisation-wide reader the figures, not the customers.
    assert agent.sees_personal_fields(service_request)
    assert not agent.sees_personal_fields(finance_request)
    assert not reporting.sees_personal_fields(service_request)
    assert reader(catalog, "wang.fang").sees_personal_fields(service_request)  # handed it on


def _line(request_id: str, owner: str, department: str,
          steps: tuple[StepLine, ...] = ()) -> RequestLine:
    return RequestLine(
        request_id=request_id, subject="发票金额错误", customer_id="C-1",
        customer_name="上海星河贸易", customer_tier="key", request_type="billing_dispute",
        priority="P2", channel="phone", status="in_progress", sla_state="on_track",
        owner_id=owner, owner_department_id=department,
        submitted_at=datetime(2026, 11, 3, tzinfo=UTC), first_response_at=None,
        resolved_at=None, closed_at=None, breach_count=0, escalation_count=0, reopen_count=0,
        satisfaction=None, steps=steps)


def test_a_report_withheld_for_its_reader_keeps_every_figure(catalog: Catalog) -> None:
    lines = [_line("r1", "zhang.wei", "customer_service"), _line("r2", "guo.peng", "finance")]
    report = assemble(lines, [], month=datetime(2026, 11, 1).date(), department=None,
                      role=None, tz="UTC", names=ReportNames(), now=NOW)
    assert [a.requests for a in report.overview.backlog] == [0, 0, 0, 2]  # 17 days old
    seen = withhold_personal_fields(report, reader(catalog, "zheng.li").sees_personal_fields)
    assert seen.personal_fields_withheld == 1
    assert [(r.request_id, r.subject, r.customer_name) for r in seen.requests] == [
        ("r1", WITHHELD, WITHHELD), ("r2", "发票金额错误", "上海星河贸易")]
    assert seen.totals == report.totals
    assert seen.overview == report.overview
    # One person's own work: only the requests they own or have a step in.
    own = assemble(lines, [], month=datetime(2026, 11, 1).date(), department=None, role=None,
                   tz="UTC", names=ReportNames(), now=NOW, person="zhang.wei")
    assert [r.request_id for r in own.requests] == ["r1"]
    assert [p.person_id for p in own.people] == ["zhang.wei"]
