"""The SLA what-if for managers: a month and a proposed ``sla.toml`` (today's, to edit), and
compliance per department, role and tier under today's policy beside the proposal's, with the
requests that would flip. Replayed by the analysis API's in-process ``analysis.queries.whatif``
under its rights (``analysis.access``); live requests are never touched."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from analysis import queries
from analysis.access import NotAManager, check_manager
from analysis.period import month_range, parse_month
from analysis.proposal import proposed_from_files
from catalog.problems import ConfigError
from console.context import ConsoleDep, SessionDep, check_csrf
from kpi.report.model import DEFAULT_TZ

router = APIRouter()
_MAX_PROPOSAL = 200_000  # characters, as the API's body allows
_LISTED = 200


def _page(request: Request, console: ConsoleDep, session: SessionDep, *, month: str,
          proposal: str, status_code: int = 200, **found: object) -> HTMLResponse:
    return console.renderer.page(request, "whatif.html", status_code=status_code,
                                 person=session.person_id, csrf=session.csrf, month=month,
                                 proposal=proposal, listed=_LISTED, **found)


def _refused(request: Request, console: ConsoleDep, session: SessionDep) -> HTMLResponse | None:
    try:
        check_manager(console.services.catalog, session.person_id)
    except NotAManager:
        return console.renderer.page(request, "not_a_leader.html", status_code=403,
                                     person=session.person_id, csrf=session.csrf)
    return None


@router.get("/manage/whatif", response_class=HTMLResponse, name="whatif")
async def whatif_form(request: Request, console: ConsoleDep,
                      session: SessionDep) -> HTMLResponse:
    refused = _refused(request, console, session)
    if refused is not None:
        return refused
    today = console.services.settings.base.config_dir / "sla.toml"
    return _page(request, console, session, proposal=today.read_text(encoding="utf-8"),
                 month=datetime.now(ZoneInfo(DEFAULT_TZ)).strftime("%Y-%m"))


@router.post("/manage/whatif", response_class=HTMLResponse)
async def whatif_run(request: Request, console: ConsoleDep,
                     session: SessionDep) -> HTMLResponse:
    refused = _refused(request, console, session)
    if refused is not None:
        return refused
    form = await request.form()
    check_csrf(session, form.get("csrf"))
    month, proposal = str(form.get("month") or ""), str(form.get("proposal") or "")
    _ = console.renderer.gettext(request)
    try:
        if len(proposal) > _MAX_PROPOSAL:
            raise ValueError(f"sla.toml: at most {_MAX_PROPOSAL} characters")
        first = parse_month(month)
        start, end = month_range(first, DEFAULT_TZ)
        proposed = proposed_from_files(console.services.settings.base.config_dir,
                                       {"sla.toml": proposal}, first)
    except (ValueError, ConfigError) as error:
        return _page(request, console, session, month=month, proposal=proposal,
                     status_code=422, error=str(error).replace("--month", _("Month")))
    now = datetime.now(UTC)
    report = await queries.whatif(console.services.engine, console.services.catalog, proposed,
                                  start, end, now)
    return _page(request, console, session, month=month, proposal=proposal, report=report,
                 as_of=now)
