"""The timeline of one request, read from the projections: summary, steps with their
durations, escalations and handoffs, and from the log the erasures of the customer's personal
fields (``customer_erased`` events, which no projection holds); and a plain-text rendering
for the command line."""

from collections.abc import Sequence
from datetime import UTC, datetime, tzinfo

from pydantic import BaseModel, ConfigDict
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.events import EventType
from eventstore.engine import transaction
from eventstore.projected import ProjectedRequest, ProjectedStep
from presentation.text import EMPTY, display_width, fit_width, format_duration, pad
from schema.tables import escalations, events, handoffs, request_steps, requests


class UnknownRequest(LookupError):
    """No request with this id in the store."""

    def __init__(self, request_id: str) -> None:
        self.request_id = request_id
        super().__init__(f"no request {request_id!r} in the event store")

    def __str__(self) -> str:  # LookupError would quote the message like a KeyError
        return str(self.args[0])


class _View(BaseModel):
    model_config = ConfigDict(frozen=True)


class RequestSummary(ProjectedRequest):
    first_response_deadline: datetime | None
    resolution_deadline: datetime | None


class StepView(ProjectedStep):
    deadline: datetime | None
    sla_state: str


class EscalationView(_View):
    sequence: int
    clock_id: str
    breach_number: int
    level: int
    level_name: str
    recipient_id: str
    department_id: str
    occurred_at: datetime
    acknowledged_at: datetime | None


class HandoffView(_View):
    sequence: int
    step_key: str
    from_department_id: str
    to_department_id: str
    from_owner_id: str
    to_owner_id: str
    occurred_at: datetime
    reason: str


class ErasureView(_View):
    sequence: int
    occurred_at: datetime
    erased_by: str
    basis: str


class RequestTimeline(_View):
    request: RequestSummary
    steps: list[StepView]
    escalations: list[EscalationView]
    handoffs: list[HandoffView]
    event_count: int
    erasures: list[ErasureView] = []


async def request_timeline(engine: AsyncEngine, request_id: str) -> RequestTimeline:
    """The timeline of ``request_id``; UnknownRequest if the store has no such request."""
    async with transaction(engine) as conn:
        summary = (
            await conn.execute(
                select(*(requests.c[name] for name in RequestSummary.model_fields)).where(
                    requests.c.request_id == request_id
                )
            )
        ).first()
        if summary is None:
            raise UnknownRequest(request_id)
        steps = await conn.execute(
            select(*(request_steps.c[name] for name in StepView.model_fields))
            .where(request_steps.c.request_id == request_id)
            .order_by(
                request_steps.c.started_at, request_steps.c.stage_index, request_steps.c.step_key
            )
        )
        escalation_rows = await conn.execute(
            select(*(escalations.c[name] for name in EscalationView.model_fields))
            .where(escalations.c.request_id == request_id)
            .order_by(escalations.c.sequence)
        )
        handoff_rows = await conn.execute(
            select(*(handoffs.c[name] for name in HandoffView.model_fields))
            .where(handoffs.c.request_id == request_id)
            .order_by(handoffs.c.sequence)
        )
        event_count = await conn.scalar(
            select(func.count()).select_from(events).where(events.c.request_id == request_id)
        )
        erasure_rows = await conn.execute(
            select(events.c.sequence, events.c.occurred_at, events.c.actor_id, events.c.payload)
            .where(events.c.request_id == request_id,
                   events.c.event_type == EventType.CUSTOMER_ERASED.value)
            .order_by(events.c.sequence))
        return RequestTimeline(
            request=RequestSummary.model_validate(summary._asdict()),
            steps=[StepView.model_validate(row._asdict()) for row in steps],
            escalations=[EscalationView.model_validate(row._asdict()) for row in escalation_rows],
            handoffs=[HandoffView.model_validate(row._asdict()) for row in handoff_rows],
            event_count=int(event_count or 0),
            erasures=[ErasureView(sequence=row.sequence, occurred_at=row.occurred_at,
                                  erased_by=row.actor_id, basis=row.payload["basis"])
                      for row in erasure_rows],
        )


# -- plain text ---------------------------------------------------------------------------

def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    cells = [[fit_width(cell) for cell in row] for row in (header, *rows)]
    widths = [max(display_width(row[i]) for row in cells) for i in range(len(header))]
    lines = ["  ".join(pad(cell, widths[i]) for i, cell in enumerate(row)).rstrip()
             for row in cells]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return lines


def format_timeline(timeline: RequestTimeline, tz: tzinfo = UTC) -> str:
    """A readable plain-text rendering of ``timeline``; times shown in ``tz``."""

    def at(value: datetime | None) -> str:
        return value.astimezone(tz).strftime("%Y-%m-%d %H:%M") if value else EMPTY

    r = timeline.request
    owner = f"{r.owner_id} ({r.owner_department_id})" if r.owner_id else EMPTY
    satisfaction = str(r.satisfaction) if r.satisfaction is not None else EMPTY
    zone = getattr(tz, "key", None) or str(tz)
    lines = [
        f"请求 {r.request_id}  {r.subject}",
        f"客户: {r.customer_name} ({r.customer_id}, {r.customer_tier})  "
        f"类型: {r.request_type}  渠道: {r.channel}",
        f"状态: {r.status}  优先级: {r.priority}  负责人: {owner}  SLA: {r.sla_state}",
        f"提交: {at(r.submitted_at)}  首次响应: {at(r.first_response_at)}  "
        f"解决: {at(r.resolved_at)}  关闭: {at(r.closed_at)}  (时区 {zone})",
        f"事件: {timeline.event_count}  超时: {r.breach_count}  升级: {r.escalation_count}  "
        f"重开: {r.reopen_count}  满意度: {satisfaction}",
        "",
        "步骤",
    ]
    if timeline.steps:
        lines += _table(
            ("步骤", "部门", "角色", "负责人", "开始", "结束", "历时", "工作时长", "暂停",
             "超时", "转交", "改派"),
            [
                (
                    s.step_name, s.department_id, s.role, s.owner_id, at(s.started_at),
                    at(s.ended_at), format_duration(s.wall_seconds),
                    format_duration(s.business_seconds), format_duration(s.paused_seconds),
                    "是" if s.breached else "否", str(s.handoff_count), str(s.reassign_count),
                )
                for s in timeline.steps
            ],
        )
    else:
        lines.append("(无)")
    if timeline.handoffs:
        lines += ["", "转交"]
        lines += _table(
            ("时间", "步骤", "从", "到", "原因"),
            [
                (at(h.occurred_at), h.step_key, f"{h.from_department_id}/{h.from_owner_id}",
                 f"{h.to_department_id}/{h.to_owner_id}", h.reason)
                for h in timeline.handoffs
            ],
        )
    if timeline.escalations:
        lines += ["", "升级"]
        lines += _table(
            ("时间", "时钟", "超时次数", "级别", "接收人", "确认"),
            [
                (at(e.occurred_at), e.clock_id, str(e.breach_number),
                 f"{e.level} {e.level_name}", f"{e.recipient_id} ({e.department_id})",
                 at(e.acknowledged_at))
                for e in timeline.escalations
            ],
        )
    if timeline.erasures:
        lines += ["", "个人信息删除"]
        lines += _table(("时间", "事件", "执行人", "依据"),
                        [(at(e.occurred_at), str(e.sequence), e.erased_by, e.basis)
                         for e in timeline.erasures])
    return "\n".join(lines)
