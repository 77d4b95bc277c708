"""A bare request: started with its first update (update-with-start), then one update per
action, each answering once its row is durably in PostgreSQL; the last action closes it. No
domain, no projections, no timers: what any Temporal implementation of the same lifecycle pays
at least, in the naive shape (one regular activity per update)."""

from dataclasses import dataclass
from datetime import timedelta

from temporalio import workflow

WORKFLOW_NAME = "BareRequest"
INSERT_ROW = "bare_insert_row"
CLOSING_ACTION = "close"


@dataclass(frozen=True)
class Row:
    request_id: str
    sequence: int
    action: str
    payload: str
    """JSON text, of about the size of a caseflow command."""


@dataclass(frozen=True)
class Answer:
    sequence: int


@workflow.defn(name=WORKFLOW_NAME)
class BareRequestWorkflow:
    def __init__(self) -> None:
        self._sequence = 0
        self._closed = False

    @workflow.run
    async def run(self) -> int:
        await workflow.wait_condition(lambda: self._closed and workflow.all_handlers_finished())
        return self._sequence

    @workflow.update
    async def act(self, action: str, payload: str) -> Answer:
        self._sequence += 1
        sequence = self._sequence
        await workflow.execute_activity(
            INSERT_ROW, Row(workflow.info().workflow_id, sequence, action, payload),
            start_to_close_timeout=timedelta(seconds=5))
        if action == CLOSING_ACTION:
            self._closed = True
        return Answer(sequence=sequence)
