"""What is pinned on a request when it is submitted: the process template and SLA policy
versions and the departments involved (calendars, rosters), so later configuration changes never
alter a running request."""

from pydantic import BaseModel, ConfigDict

from domain.org import Department
from domain.policy import SlaPolicy, SlaTargets
from domain.process import ProcessTemplate
from domain.request import Priority, RequestSubmission
from domain.validation import shorten


class SubmissionRefused(ValueError):
    """A submission that cannot become a request; the message names what is wrong."""


class RequestPlan(BaseModel):
    model_config = ConfigDict(frozen=True)

    request_id: str
    submission: RequestSubmission
    template: ProcessTemplate
    policy: SlaPolicy
    departments: dict[str, Department]

    def targets(self, priority: Priority) -> SlaTargets:
        targets = self.policy.targets_for(
            self.submission.request_type, priority, self.submission.customer.tier
        )
        if targets is None:  # plan_request guarantees every priority has targets
            raise SubmissionRefused(f"SLA policy {self.policy.id} has no targets for {priority}")
        return targets


def plan_request(
    request_id: str,
    submission: RequestSubmission,
    *,
    templates: dict[str, ProcessTemplate],
    policy: SlaPolicy,
    departments: dict[str, Department],
) -> RequestPlan:
    """Pins template, policy and departments for ``submission`` or refuses it."""
    template = templates.get(submission.request_type)
    if template is None:
        known = ", ".join(sorted(templates)) or "none"
        raise SubmissionRefused(
            f"unknown request type {shorten(submission.request_type)!r} (known: {known})"
        )
    missing = sorted(template.department_ids() - departments.keys())
    if missing:
        raise SubmissionRefused(
            f"process {template.id} names unknown department(s): {', '.join(missing)}"
        )
    for priority in Priority:
        if policy.targets_for(submission.request_type, priority, submission.customer.tier) is None:
            raise SubmissionRefused(
                f"SLA policy {policy.id} v{policy.version} has no targets for "
                f"{submission.request_type} {priority} {submission.customer.tier}"
            )
    if submission.submitted_by not in {m.id for d in departments.values() for m in d.members}:
        raise SubmissionRefused(
            f"submitted_by {shorten(submission.submitted_by)!r} is not on any roster")
    return RequestPlan(
        request_id=request_id,
        submission=submission,
        template=template,
        policy=policy,
        departments={d: departments[d] for d in sorted(template.department_ids())},
    )
