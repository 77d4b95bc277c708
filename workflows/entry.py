"""What enters the request workflow: its start input, actions and signals arrive as raw payloads
and are decoded and validated here with the domain's models, so a payload the models refuse is
a short refusal (an update rejected, a signal dropped, a start failed) and never a failed
workflow task."""

import contextlib
from collections.abc import Sequence
from typing import TypeVar

from pydantic import BaseModel, ValidationError
from temporalio import workflow
from temporalio.api.common.v1 import Payload
from temporalio.common import RawValue
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain import commands as cmd
    from domain.authorization import RefusalKind
    from domain.validation import describe, shorten

INVALID_INPUT = "InvalidInput"
"""The ApplicationError type of every refusal of a payload (callers map it to a refusal)."""
IDEMPOTENCY_CONFLICT = "IdempotencyConflict"
"""A submission whose idempotency key names a request submitted with other content."""
REFUSED = "Refused"
"""The ApplicationError type of a refusal by the domain; its one detail is the RefusalKind."""

Model = TypeVar("Model", bound=BaseModel)

ABSENT = RawValue(Payload(metadata={"encoding": b"binary/null"}))
"""The default of a raw parameter a caller sent no payload for: it reads as null."""


def invalid(message: str) -> ApplicationError:
    return ApplicationError(message, type=INVALID_INPUT, non_retryable=True)


def refusal(kind: RefusalKind, message: str) -> ApplicationError:
    return ApplicationError(message, kind.value, type=REFUSED, non_retryable=True)


def refusal_kind(error: ApplicationError) -> RefusalKind:
    """The kind of no that a failure of the workflow's validators or handlers is."""
    if error.type in (INVALID_INPUT, IDEMPOTENCY_CONFLICT):
        return RefusalKind.INVALID
    if error.type == REFUSED and error.details:
        with contextlib.suppress(ValueError):
            return RefusalKind(error.details[0])
    # A parked request, or a refusal by a worker of a release before kinds (no details):
    # the request's state does not allow it.
    return RefusalKind.CONFLICT


def decode(raw: RawValue, model: type[Model], what: str) -> Model:
    """``raw`` as a ``model``, or an ApplicationError whose one-line message names ``what``
    and each problem (never the value sent)."""
    try:
        value = workflow.payload_converter().from_payload(raw.payload)
    except Exception as error:  # any encoding the converter cannot read
        raise invalid(f"{what}: not a JSON payload ({shorten(str(error), 120)})") from None
    if value is None:
        raise invalid(f"{what}: no payload (null)")
    try:
        return model.model_validate(value)
    except ValidationError as error:
        raise invalid(f"{what}: {describe(error)}") from None


def action_command(action: str, args: Sequence[RawValue]) -> cmd.RequestCommand:
    """The command of an update named ``action`` (one of ``domain.commands.ACTIONS``)."""
    model = cmd.ACTIONS.get(action)
    if model is None:
        known = ", ".join(cmd.ACTIONS)
        raise invalid(f"unknown action {shorten(action)!r} (known: {known})")
    if len(args) != 1:
        raise invalid(f"{action}: expected one {model.__name__} payload, got {len(args)}")
    return decode(args[0], model, action)
