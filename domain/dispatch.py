"""Acting on a value by its class, the one way the domain and every reader of the log do it: a
table from class to handler that names every class of its vocabulary (every event payload type,
every command), with a handler or as ignored, so a new type cannot be left out without the
table refusing to be built."""

from collections.abc import Iterable, Mapping
from typing import Generic, TypeVar

from domain.commands import ACTIONS
from domain.events import PAYLOAD_TYPES, EventPayload

Handler = TypeVar("Handler")


class ClassTable(Generic[Handler]):
    def __init__(self, name: str, vocabulary: Iterable[type], handlers: Mapping[type, Handler],
                 *, ignored: Iterable[type] = ()) -> None:
        skipped = set(ignored)
        known = set(vocabulary)
        problems = [
            f"{what}: {', '.join(sorted(kind.__name__ for kind in kinds))}"
            for what, kinds in (
                ("no handler and not ignored", known - set(handlers) - skipped),
                ("both handled and ignored", set(handlers) & skipped),
                (f"not in the vocabulary of the {name}", (set(handlers) | skipped) - known),
            )
            if kinds
        ]
        if problems:
            raise TypeError(f"{name}: " + "; ".join(problems))
        self._handlers = dict(handlers)

    def handler(self, kind: type) -> Handler | None:
        """The handler of values of type ``kind``; None for a type the table ignores."""
        return self._handlers.get(kind)


class PayloadTable(ClassTable[Handler]):
    """A table over every event payload type (``domain.events.PAYLOAD_TYPES``)."""

    def __init__(self, handlers: Mapping[type[EventPayload], Handler], *,
                 ignored: Iterable[type[EventPayload]] = ()) -> None:
        super().__init__("payload table", PAYLOAD_TYPES.values(), handlers, ignored=ignored)


class CommandTable(ClassTable[Handler]):
    """A table over every command (``domain.commands.ACTIONS``)."""

    def __init__(self, handlers: Mapping[type, Handler]) -> None:
        super().__init__("command table", ACTIONS.values(), handlers)
