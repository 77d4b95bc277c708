"""A report as one reader may see it: the customer's name and the subject of each request the
reader has no need to know are replaced by a marker; every count, time and duration stays."""

from collections.abc import Callable

from domain.report_visibility import RequestFacts, facts_of
from kpi.report.model import MonthlyReport, RequestLine

WITHHELD = "[无权查看]"
"""Shown instead of a personal field the reader's role does not need."""


def request_facts(request: RequestLine, handed_on_by: frozenset[str] = frozenset()
                  ) -> RequestFacts:
    """The facts visibility is decided on, for a request of the report."""
    return facts_of(request.owner_id, request.owner_department_id,
                    ((s.department_id, s.owner_id) for s in request.steps), handed_on_by)


def withhold_personal_fields(report: MonthlyReport,
                             may_see: Callable[[RequestFacts], bool]) -> MonthlyReport:
    """``report`` with the personal fields (customer name, subject) of every request for whose
    facts ``may_see`` is false replaced by ``WITHHELD``, and how many were withheld. The people
    who handed one of its steps on in the month count among those who have owned it."""
    givers: dict[str, set[str]] = {}
    for handoff in report.handoffs:
        givers.setdefault(handoff.request_id, set()).add(handoff.from_owner_id)
    shown: list[RequestLine] = []
    withheld = 0
    for request in report.requests:
        if may_see(request_facts(request, frozenset(givers.get(request.request_id, ())))):
            shown.append(request)
        else:
            withheld += 1
            shown.append(request.model_copy(update={"customer_name": WITHHELD,
                                                    "subject": WITHHELD}))
    return report.model_copy(update={"requests": tuple(shown),
                                     "personal_fields_withheld": withheld})
