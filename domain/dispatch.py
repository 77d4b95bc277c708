"""Acting on an event by its payload type, the one way every reader of the log (projections,
metrics) does it: a table from payload class to handler that names every payload class, with a
handler or as ignored, so a new event type cannot be left out without the table refusing to be
built."""

from collections.abc import Iterable, Mapping
from typing import Generic, TypeVar

from domain.events import PAYLOAD_TYPES, EventPayload

Handler = TypeVar("Handler")


class PayloadTable(Generic[Handler]):
    def __init__(self, handlers: Mapping[type[EventPayload], Handler], *,
                 ignored: Iterable[type[EventPayload]] = ()) -> None:
        skipped = set(ignored)
        known = set(PAYLOAD_TYPES.values())
        problems = [
            f"{what}: {', '.join(sorted(kind.__name__ for kind in kinds))}"
            for what, kinds in (
                ("no handler and not ignored", known - set(handlers) - skipped),
                ("both handled and ignored", set(handlers) & skipped),
                ("not an event payload", (set(handlers) | skipped) - known),
            )
            if kinds
        ]
        if problems:
            raise TypeError("payload table: " + "; ".join(problems))
        self._handlers = dict(handlers)

    def handler(self, kind: type[EventPayload]) -> Handler | None:
        """The handler of payloads of type ``kind``; None for a type the table ignores."""
        return self._handlers.get(kind)
