"""SLA what-if on a log the real workflow wrote (Temporal dev server, PostgreSQL): replayed under
its own policy it reproduces the recorded breaches and escalations exactly; under a proposal
with a longer investigation target the breach flips; the command line prints both.

Only the investigation step has a short target (2 s); every other clock has a minute, and the
test acts at once, so no action races a timer."""

import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from analysis.period import month_range
from analysis.replay import recorded_breaches, recorded_escalations, replay_request
from analysis.store import logs_submitted_between
from analysis.whatif import compare
from catalog.loader import load_catalog
from domain import commands as cmd
from domain.actors import Actor, ActorKind
from domain.events import SlaWarning
from domain.state import RequestStatus
from stack.paths import REPO_ROOT
from tests.integration.conftest import Caseflow, running
from tests.integration.requests import billing_dispute, eventually
from tests.paths import FAST_CONFIG
from workflows import client as calls
from workflows.messages import RequestView

SLA = """id = "whatif-test-sla"
version = 1
warning_thresholds = [0.5, 0.75, 0.9]
reopen_window = "1m"

[escalation]
supervisor_after = "1s"
head_after = "1s"
auto_reassign_at = "supervisor"

[[targets]]
first_response = "1m"
resolution = "2m"
step_default = "1m"
steps = { investigate = "%s" }
"""


def config_with(folder: Path, investigate: str) -> Path:
    shutil.copytree(FAST_CONFIG, folder)
    (folder / "sla.toml").write_text(SLA % investigate, encoding="utf-8")
    return folder


@pytest.fixture
async def flow(temporal_env: WorkflowEnvironment, pg_store_url: str,
               tmp_path: Path) -> AsyncIterator[Caseflow]:
    catalog = load_catalog(config_with(tmp_path / "today", "2s"), years=[2026, 2027])
    async with running(temporal_env, pg_store_url, catalog) as caseflow:
        yield caseflow


async def work_one_request(flow: Caseflow) -> str:
    """Triage at once, technical support at once, finance left past its 2 s target until the
    head is notified, then everything finished and the customer confirms."""
    submission = billing_dispute(flow.catalog, subject="十月账单重复扣费")
    submitted = await calls.submit_request(flow.client, flow.catalog, submission,
                                             task_queue=flow.task_queue)
    rid = submitted.request_id

    async def act(action: str, command: cmd.RequestCommand) -> RequestView:
        return await calls.act(flow.client, rid, action, command)

    triage = submitted.view.steps[0]
    await act("claim", cmd.Claim(actor=Actor(id=triage.owner_id), step_key=triage.step_key))
    view = await act("complete_step", cmd.CompleteStep(actor=Actor(id=triage.owner_id),
                                                       step_key=triage.step_key))
    investigate = {s.department_id: s for s in view.steps if s.status == "active"}
    tech = investigate["technical_support"]
    await act("complete_step", cmd.CompleteStep(actor=Actor(id=tech.owner_id),
                                                step_key=tech.step_key))
    finance = investigate["finance"]
    view = await eventually(lambda: calls.request_status(flow.client, rid), lambda v: any(
        b.clock_id == f"step:{finance.step_key}" and b.level == 3 for b in v.breaches),
        within=40, what="the finance step's breach to reach the head")
    step = next(s for s in view.steps if s.step_key == finance.step_key)
    view = await act("complete_step", cmd.CompleteStep(actor=Actor(id=step.owner_id),
                                                       step_key=step.step_key))
    confirm = next(s for s in view.steps if s.status == "active")
    await act("complete_step", cmd.CompleteStep(actor=Actor(id=confirm.owner_id),
                                                step_key=confirm.step_key))
    await act("resolve", cmd.Resolve(actor=Actor(id=view.owner_id), summary="已撤销重复扣费"))
    view = await act("customer_feedback", cmd.CustomerFeedback(
        actor=Actor(id=submission.customer.id, kind=ActorKind.CUSTOMER), accepted=True,
        satisfaction=4))
    assert view.status is RequestStatus.CLOSED
    return rid


def analysis_command(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "analysis", *args], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=120)


async def test_whatif_on_the_workflows_own_log(flow: Caseflow, tmp_path: Path) -> None:
    rid = await work_one_request(flow)
    now = datetime.now(UTC)
    start, end = month_range(now.date().replace(day=1), "UTC")
    logs = await logs_submitted_between(flow.engine, start, end)
    assert [log[0].request_id for log in logs] == [rid]
    log = logs[0]
    assert [e.sequence for e in log] == list(range(1, len(log) + 1))

    recorded = recorded_breaches(log)
    finance_clock = next(clock for clock, _ in recorded if clock.startswith("step:investigate"))
    assert {(c, level) for c, _, level in recorded_escalations(log)} >= {
        (finance_clock, 1), (finance_clock, 2), (finance_clock, 3)}
    replayed = replay_request(log, flow.catalog, now)
    assert replayed.breach_keys() == recorded
    assert replayed.escalation_keys() == recorded_escalations(log)
    assert {c.clock_id for c in replayed.clocks if c.warned} == {
        e.payload.clock_id for e in log if isinstance(e.payload, SlaWarning)}

    proposed_dir = config_with(tmp_path / "proposed", "1m")
    proposed = load_catalog(proposed_dir, years=[2026, 2027])
    report = compare(logs, flow.catalog, proposed, now)
    assert [(f.clock_id, f.breached_current, f.breached_proposed) for f in report.flips] == [
        (finance_clock, True, False)]
    finance = next(g for g in report.by_department if g.group == "finance")
    assert (finance.breached_current, finance.breached_proposed) == (1, 0)
    assert sorted((c.escalation.clock_id, c.escalation.level, c.fires_current, c.fires_proposed)
                  for c in report.escalation_changes) == [
        (finance_clock, level, True, False) for level in (1, 2, 3)]

    month = now.strftime("%Y-%m")
    url = flow.engine.url.render_as_string(hide_password=False)
    only_sla = tmp_path / "only-sla"  # a proposal holds only what it changes
    only_sla.mkdir()
    shutil.copy(proposed_dir / "sla.toml", only_sla / "sla.toml")
    result = analysis_command("whatif", "--month", month, "--tz", "UTC", "--database-url", url,
                              "--config-dir", str(tmp_path / "today"),
                              "--proposed", str(only_sla))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "requests replayed: 1; skipped: 0" in out
    assert f"{rid}  {finance_clock}" in out
    assert "breached  met" in out
    assert "Escalations that change (3, first 20 shown)" in out
