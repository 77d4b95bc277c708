"""The SLA badge of a running clock: remaining business time, its level against the policy's
warning thresholds, and whether it stands still (paused, or outside working hours)."""

from dataclasses import dataclass
from datetime import datetime

from domain.calendar import is_working_time
from workflows.messages import ClockView


@dataclass(frozen=True)
class Badge:
    clock_id: str
    remaining_seconds: float
    """Negative once breached."""
    level: int
    """0 below the first warning threshold, 1.. each threshold passed; ``breached`` past 1.0."""
    breached: bool
    paused: bool
    outside_hours: bool
    deadline: datetime | None
    calendar_zone: str

    @property
    def kind(self) -> str:
        """``first_response``, ``resolution`` or ``step`` (the message id's last part)."""
        return "step" if self.clock_id.startswith("step:") else self.clock_id

    @property
    def step_key(self) -> str:
        return self.clock_id.removeprefix("step:") if self.kind == "step" else ""

    @property
    def css(self) -> str:
        return "breached" if self.breached else f"level-{self.level}"


def badge(view: ClockView, thresholds: tuple[float, ...], now: datetime) -> Badge:
    target = view.target_seconds
    used = view.elapsed_seconds / target if target > 0 else 1.0
    return Badge(
        clock_id=view.clock_id,
        remaining_seconds=view.remaining_seconds if used < 1.0
        else -(view.elapsed_seconds - target),
        level=sum(1 for threshold in thresholds if used >= threshold),
        breached=used >= 1.0,
        paused=view.paused,
        outside_hours=not view.paused and not is_working_time(view.clock.calendar, now),
        deadline=view.deadline,
        calendar_zone=view.clock.calendar.timezone)


def running_badges(clocks: list[ClockView], thresholds: tuple[float, ...],
                   now: datetime) -> list[Badge]:
    return [badge(clock, thresholds, now) for clock in clocks if clock.clock.stopped_at is None]
