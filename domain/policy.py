"""SLA policies: targets by request type x priority x customer tier, warning thresholds, the
paused-time cap, the reopen window and the escalation ladder. All durations are business
seconds of the calendar that owns the clock."""

from enum import IntEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator

from domain.request import CustomerTier, Priority

ANY = "*"


class EscalationLevel(IntEnum):
    OWNER = 1
    SUPERVISOR = 2
    HEAD = 3

    @property
    def label(self) -> str:
        return self.name.lower()


class SlaTargets(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    first_response_seconds: float = Field(gt=0)
    resolution_seconds: float = Field(gt=0)
    step_default_seconds: float = Field(gt=0)
    step_seconds: dict[str, float] = Field(default_factory=dict)

    def step_target(self, stage_id: str) -> float:
        return self.step_seconds.get(stage_id, self.step_default_seconds)


class TargetRule(BaseModel):
    """Targets for requests matching type, priority and tier; ``*`` matches anything and the
    most specific matching rule wins."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    request_type: str = ANY
    priority: Priority | str = ANY
    tier: CustomerTier | str = ANY
    targets: SlaTargets

    def specificity(self) -> int:
        return sum(value != ANY for value in (self.request_type, self.priority, self.tier))

    def matches(self, request_type: str, priority: Priority, tier: CustomerTier) -> bool:
        return (
            self.request_type in (ANY, request_type)
            and self.priority in (ANY, priority)
            and self.tier in (ANY, tier)
        )


class EscalationPolicy(BaseModel):
    """On breach the owner is notified at once, then the supervisor and then the head after
    these business-time delays unless a level is acknowledged first."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    supervisor_after_seconds: float = Field(gt=0)
    head_after_seconds: float = Field(gt=0)
    auto_reassign_at: EscalationLevel | None = None

    def delay_before(self, level: EscalationLevel) -> float:
        """Business seconds from the breach until ``level`` is notified."""
        if level is EscalationLevel.OWNER:
            return 0.0
        if level is EscalationLevel.SUPERVISOR:
            return self.supervisor_after_seconds
        return self.supervisor_after_seconds + self.head_after_seconds


class SlaPolicy(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    version: int = Field(ge=1)
    warning_thresholds: tuple[float, ...] = (0.5, 0.75, 0.9)
    pause_cap_seconds: float | None = Field(default=None, gt=0)
    reopen_window_seconds: float = Field(gt=0)
    escalation: EscalationPolicy
    rules: tuple[TargetRule, ...] = Field(min_length=1)

    @field_validator("warning_thresholds")
    @classmethod
    def _fractions(cls, thresholds: tuple[float, ...]) -> tuple[float, ...]:
        if any(not 0 < t < 1 for t in thresholds):
            raise ValueError("warning thresholds are fractions between 0 and 1 (breach is 1)")
        return tuple(sorted(set(thresholds)))

    def targets_for(
        self, request_type: str, priority: Priority, tier: CustomerTier
    ) -> SlaTargets | None:
        matching = [r for r in self.rules if r.matches(request_type, priority, tier)]
        if not matching:
            return None
        return max(matching, key=TargetRule.specificity).targets

    @property
    def alert_thresholds(self) -> tuple[float, ...]:
        """Warnings then the breach (1.0)."""
        return (*self.warning_thresholds, 1.0)
