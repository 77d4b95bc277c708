"""The report as CSV files: UTF-8 with a byte-order mark so Excel reads the Chinese text;
durations in seconds, ratios 0..1, times ISO 8601 with the zone offset. Text cells that a
spreadsheet would run as a formula are neutralised (OWASP CSV injection)."""

import csv
import io
from collections.abc import Sequence
from datetime import datetime, tzinfo
from pathlib import Path

from domain.state import StepStatus
from kpi.report.model import Figures, MonthlyReport, StepLine
from kpi.report.sections import csv_sections
from presentation.text import format_duration

CSV_ENCODING = "utf-8-sig"
# A cell starting with one of these is a formula to Excel, LibreOffice and Google Sheets.
_FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def neutralise_formula(cell: str) -> str:
    """``cell`` with a leading single quote when a spreadsheet would evaluate it (customer
    subjects and names are untrusted text); numbers such as ``-1.5`` stay numbers."""
    if cell.startswith(_FORMULA_TRIGGERS) and not _is_number(cell):
        return "'" + cell
    return cell


def _seconds(value: float | None) -> str:
    return "" if value is None else repr(round(value, 3))


def _share(value: float | None) -> str:
    return "" if value is None else repr(round(value, 4))


def _time(value: datetime | None, tz: tzinfo) -> str:
    return "" if value is None else value.astimezone(tz).isoformat(sep=" ", timespec="seconds")


def _optional(value: object) -> str:
    return "" if value is None else str(value)


def step_path(step: StepLine) -> str:
    """``stage@department/owner (business / wall)``: business and wall-clock durations of a
    completed step, ``active`` or ``cancelled`` otherwise."""
    state = (f"{format_duration(step.business_seconds)} / {format_duration(step.wall_seconds)}"
             if step.status == StepStatus.COMPLETED else step.status)
    return f"{step.stage_id}@{step.department_id}/{step.owner_id} ({state})"


REQUEST_HEADER = (
    "id", "subject", "customer", "type", "priority", "channel", "owner", "submitted_at",
    "resolved_at", "status", "steps", "customer_id", "owner_name", "owner_department",
    "first_response_at", "first_response_seconds", "closed_at", "sla_state", "breaches",
    "escalations", "reopens", "satisfaction",
)
STEP_HEADER = (
    "request_id", "step_key", "stage", "step_name", "cycle", "department", "role", "owner",
    "owner_name", "started_at", "claimed_at", "ended_at", "target_seconds", "business_seconds",
    "wall_seconds", "paused_seconds", "breached", "escalations", "handoffs", "reassignments",
)
HANDOFF_HEADER = (
    "request_id", "sequence", "step_key", "step_name", "role", "occurred_at",
    "from_department", "from_owner", "from_owner_name", "to_department", "to_owner",
    "to_owner_name",
)
FIGURE_HEADER = (
    "steps_handled", "handling_avg_seconds", "handling_p50_seconds", "handling_p90_seconds",
    "wall_avg_seconds", "wall_p50_seconds", "wall_p90_seconds", "handoffs", "sla_compliance",
    "breaches", "escalations", "requests", "first_responses", "first_response_avg_seconds",
    "first_response_p90_seconds", "resolved_requests", "reopened_requests", "reopen_rate",
    "csat_responses", "csat_average",
)
PEOPLE_HEADER = ("person", "name", "departments", *FIGURE_HEADER)
ROLE_HEADER = ("department", "department_name", "role", *FIGURE_HEADER)


def _figure_cells(f: Figures) -> list[str]:
    return [
        str(f.steps_handled), _seconds(f.handling_avg_seconds),
        _seconds(f.handling_p50_seconds), _seconds(f.handling_p90_seconds),
        _seconds(f.wall_avg_seconds), _seconds(f.wall_p50_seconds), _seconds(f.wall_p90_seconds),
        str(f.handoffs), _share(f.sla_compliance), str(f.breaches), str(f.escalations),
        str(f.requests),
        str(f.first_responses), _seconds(f.first_response_avg_seconds),
        _seconds(f.first_response_p90_seconds), str(f.resolved_requests),
        str(f.reopened_requests), _share(f.reopen_rate), str(f.csat_responses),
        _share(f.csat_average),
    ]


def csv_tables(report: MonthlyReport) -> dict[str, tuple[Sequence[str], list[list[str]]]]:
    """File name -> (header, rows) of every CSV, as text cells."""
    tz = report.zone
    names = report.names
    request_rows = [
        [r.request_id, r.subject, r.customer_name, r.request_type, r.priority, r.channel,
         r.owner_id or "", _time(r.submitted_at, tz), _time(r.resolved_at, tz), r.status,
         "; ".join(step_path(step) for step in r.steps), r.customer_id,
         names.person(r.owner_id), r.owner_department_id, _time(r.first_response_at, tz),
         _seconds(r.first_response_seconds), _time(r.closed_at, tz), r.sla_state,
         str(r.breach_count), str(r.escalation_count), str(r.reopen_count),
         _optional(r.satisfaction)]
        for r in report.requests
    ]
    step_rows = [
        [s.request_id, s.step_key, s.stage_id, s.step_name, str(s.cycle), s.department_id,
         s.role, s.owner_id, names.person(s.owner_id), _time(s.started_at, tz),
         _time(s.claimed_at, tz), _time(s.ended_at, tz), _seconds(s.target_seconds),
         _seconds(s.business_seconds), _seconds(s.wall_seconds), _seconds(s.paused_seconds),
         "true" if s.breached else "false", str(s.escalation_count), str(s.handoff_count),
         str(s.reassign_count)]
        for s in report.steps
    ]
    people_rows = [
        [p.person_id, p.name, ";".join(p.departments), *_figure_cells(p.figures)]
        for p in report.people
    ]
    role_rows = [
        [r.department_id, names.department(r.department_id), r.role, *_figure_cells(r.figures)]
        for r in report.roles
    ]
    handoff_rows = [
        [h.request_id, str(h.sequence), h.step_key, h.step_name, h.role,
         _time(h.occurred_at, tz), h.from_department_id, h.from_owner_id,
         names.person(h.from_owner_id), h.to_department_id, h.to_owner_id,
         names.person(h.to_owner_id)]
        for h in report.handoffs
    ]
    return {
        "requests.csv": (REQUEST_HEADER, request_rows),
        "steps.csv": (STEP_HEADER, step_rows),
        "people.csv": (PEOPLE_HEADER, people_rows),
        "roles.csv": (ROLE_HEADER, role_rows),
        "handoffs.csv": (HANDOFF_HEADER, handoff_rows),
        **csv_sections(report),
    }


def csv_text(header: Sequence[str], rows: list[list[str]]) -> str:
    """One table as CSV text (formula cells neutralised); encode it with ``CSV_ENCODING``."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows([neutralise_formula(cell) for cell in row] for row in rows)
    return buffer.getvalue()


def write_csvs(report: MonthlyReport, directory: Path) -> list[Path]:
    """Writes requests.csv, steps.csv, people.csv, roles.csv, handoffs.csv (and, with the
    analysis sections, segments.csv, longest_waits.csv and bottlenecks.csv) into ``directory``
    (created if missing), UTF-8 with BOM; returns their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for name, (header, rows) in csv_tables(report).items():
        path = directory / name
        path.write_bytes(csv_text(header, rows).encode(CSV_ENCODING))
        written.append(path)
    return written
