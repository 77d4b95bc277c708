"""sla.toml: the SLA policy, its escalation ladder and its targets."""

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, field_validator

from catalog.coverage import check_coverage
from catalog.durations import Duration
from catalog.fields import TomlTable, choice
from catalog.problems import Loc, Problems, known
from catalog.templates import Processes
from domain.policy import ANY, EscalationLevel, EscalationPolicy, SlaPolicy, SlaTargets, TargetRule
from domain.request import CustomerTier, Priority

_PRIORITY_CHOICES = (ANY, *(p.value for p in Priority))
_TIER_CHOICES = (ANY, *(t.value for t in CustomerTier))
_LEVEL_CHOICES = tuple(level.label for level in EscalationLevel)


class _RawTarget(TomlTable):
    request_type: str = ANY
    priority: Annotated[str, BeforeValidator(choice(_PRIORITY_CHOICES, "priority"))] = ANY
    tier: Annotated[str, BeforeValidator(choice(_TIER_CHOICES, "customer tier"))] = ANY
    first_response: Duration
    resolution: Duration
    step_default: Duration
    steps: dict[str, Duration] = {}

    def selector(self) -> tuple[str, str, str]:
        return self.request_type, self.priority, self.tier


class _RawEscalation(TomlTable):
    supervisor_after: Duration
    head_after: Duration
    auto_reassign_at: (
        Annotated[str, BeforeValidator(choice(_LEVEL_CHOICES, "escalation level"))] | None
    ) = None


class _RawPolicy(TomlTable):
    id: str = Field(min_length=1)
    version: int = Field(ge=1)
    warning_thresholds: list[float] = [0.5, 0.75, 0.9]
    pause_cap: Duration | None = None
    reopen_window: Duration
    escalation: dict[str, Any]
    targets: list[dict[str, Any]] = Field(min_length=1)

    @field_validator("warning_thresholds")
    @classmethod
    def _fractions(cls, thresholds: list[float]) -> list[float]:
        for threshold in thresholds:
            if not 0 < threshold < 1:
                raise ValueError(
                    f"warning threshold {threshold} is not a fraction between 0 and 1"
                    " (the breach itself is 1)"
                )
        return thresholds


def load_policy(problems: Problems, file: Path, processes: Processes) -> SlaPolicy | None:
    data = problems.read_toml(file)
    if data is None:
        return None
    raw = problems.validate(_RawPolicy, data, file)
    escalation_data = data.get("escalation")
    escalation = (
        problems.validate(_RawEscalation, escalation_data, file, ("escalation",))
        if isinstance(escalation_data, dict)
        else None
    )
    targets_data = data.get("targets")
    targets: list[_RawTarget | None] = []
    if isinstance(targets_data, list):
        targets = [
            problems.validate(_RawTarget, item, file, ("targets", index))
            if isinstance(item, dict)
            else None
            for index, item in enumerate(targets_data)
        ]
    ok = _check_targets(problems, file, targets, processes.stages)
    valid = [target for target in targets if target is not None]
    if not valid or len(valid) != len(targets):
        return None
    rules = tuple(_rule(target) for target in valid)
    # Gaps and ties are only meaningful once every target is sound.
    ok = ok and check_coverage(problems, file, rules, processes.stages)
    if raw is None or escalation is None or not ok:
        return None
    auto_reassign_at = (
        None
        if escalation.auto_reassign_at is None
        else EscalationLevel[escalation.auto_reassign_at.upper()]
    )
    return problems.build(
        lambda: SlaPolicy(
            id=raw.id,
            version=raw.version,
            warning_thresholds=tuple(raw.warning_thresholds),
            pause_cap_seconds=raw.pause_cap,
            reopen_window_seconds=raw.reopen_window,
            escalation=EscalationPolicy(
                supervisor_after_seconds=escalation.supervisor_after,
                head_after_seconds=escalation.head_after,
                auto_reassign_at=auto_reassign_at,
            ),
            rules=rules,
        ),
        file,
        (),
    )


def _rule(target: _RawTarget) -> TargetRule:
    return TargetRule(
        request_type=target.request_type,
        priority=target.priority,
        tier=target.tier,
        targets=SlaTargets(
            first_response_seconds=target.first_response,
            resolution_seconds=target.resolution,
            step_default_seconds=target.step_default,
            step_seconds=dict(target.steps),
        ),
    )


def _check_targets(
    problems: Problems,
    file: Path,
    targets: Sequence[_RawTarget | None],
    stages_of: Mapping[str, set[str] | None],
) -> bool:
    ok = True
    every_stage_known = all(stages is not None for stages in stages_of.values())
    all_stages = {stage for stages in stages_of.values() for stage in stages or ()}
    first_seen: dict[tuple[str, str, str], int] = {}
    for index, target in enumerate(targets):
        if target is None:
            continue
        where: Loc = ("targets", index)
        selector = target.selector()
        if selector in first_seen:
            problems.add(
                file,
                where,
                "duplicate target for request_type={!r}, priority={!r}, tier={!r}"
                " (also targets[{}])".format(*selector, first_seen[selector]),
            )
            ok = False
        first_seen.setdefault(selector, index)
        if target.request_type == ANY:
            stages: set[str] | None = all_stages if every_stage_known else None
            owner = "any process template"
        elif target.request_type in stages_of:
            stages, owner = stages_of[target.request_type], target.request_type
        else:
            problems.add(
                file,
                (*where, "request_type"),
                f"unknown request type {target.request_type!r}: no process template has that id"
                f" {known(stages_of)}",
            )
            ok = False
            continue
        if stages is None:
            continue  # that template is broken (reported); its stages are unknown
        for stage_id in target.steps:
            if stage_id not in stages:
                problems.add(
                    file,
                    (*where, "steps", stage_id),
                    f"unknown stage {stage_id!r}: not a stage of {owner} {known(stages)}",
                )
                ok = False
    return ok
