"""``domain.timers.moves_no_timer`` is true only of events after which ``next_due_at`` answers
as before: checked on every event of many random lives, so a replay that skips asking again
after them (analysis.replay) wakes when the workflow would."""

from collections import Counter

from domain.events import PlanPinned
from domain.state import apply, initial_state
from domain.timers import moves_no_timer, next_due_at
from tests.unit.request_walks import random_walks


def test_events_that_move_no_timer_leave_the_next_wake_alone() -> None:
    checked: Counter[str] = Counter()
    for walk in random_walks(300, seed=41):
        first = walk.events[0].payload
        assert isinstance(first, PlanPinned)
        state = initial_state(first.plan)
        for event in walk.events:
            before = next_due_at(state)
            apply(state, event)
            if moves_no_timer(event.payload):
                assert next_due_at(state) == before, (walk.events[0].request_id, event)
                checked[event.event_type] += 1
    # Each kind the walks write was checked, and the rule is not vacuous.
    assert {"assigned", "reassigned", "note_added", "claimed",
            "resolution_confirmed", "resolution_rejected"} <= set(checked), checked


def test_events_that_move_a_timer_are_not_skipped() -> None:
    moved = Counter[str]()
    for walk in random_walks(100, seed=42):
        for event in walk.events:
            if not moves_no_timer(event.payload):
                moved[event.event_type] += 1
    assert {"submitted", "step_started", "step_completed", "sla_breached", "escalated",
            "resolved", "waiting_on_customer", "customer_replied"} <= set(moved), moved
