"""The form of each action, read from the action's command model (``domain.commands.ACTIONS``):
one field per model field but the actor, with its kind, whether it is required, its choices,
and its description (translated on the page); and the posted strings back into the model's
input."""

from dataclasses import dataclass
from enum import Enum
from functools import cache
from typing import Any, get_args

from domain.commands import ACTIONS

_HIDDEN = frozenset({"actor", "step_key"})
_LONG = frozenset({"text", "question", "message", "outcome", "summary", "comment", "reason"})


@dataclass(frozen=True)
class FieldSpec:
    name: str
    kind: str
    """``textarea``, ``text``, ``number``, ``select`` or ``bool``."""
    required: bool
    choices: tuple[str, ...]
    description: str


def _choices(annotation: Any) -> tuple[str, ...]:
    for candidate in (annotation, *get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, Enum):
            return tuple(str(member.value) for member in candidate)
    return ()


@cache
def action_fields(action: str) -> tuple[FieldSpec, ...]:
    specs = []
    for name, info in ACTIONS[action].model_fields.items():
        if name in _HIDDEN:
            continue
        choices = _choices(info.annotation)
        kind = ("select" if choices else "bool" if info.annotation is bool
                else "number" if info.annotation is int
                else "textarea" if name in _LONG else "text")
        specs.append(FieldSpec(name=name, kind=kind, required=info.is_required(),
                               choices=choices, description=info.description or ""))
    return tuple(specs)


def command_input(action: str, posted: dict[str, str]) -> dict[str, Any]:
    """The model's input from a form: blank optional fields left out, yes/no as booleans."""
    found: dict[str, Any] = {}
    names = {spec.name: spec for spec in action_fields(action)}
    if posted.get("step_key"):
        found["step_key"] = posted["step_key"]
    for name, spec in names.items():
        value = posted.get(name, "").strip()
        if not value and not spec.required:
            continue
        found[name] = {"true": True, "false": False}.get(value, value) if spec.kind == "bool" \
            else value
    return found
