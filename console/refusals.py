"""A server refusal in the viewer's language. The workflow states refusals as English
sentences of a few shapes; each known shape is matched and its parts put into the translated
sentence, and any other is shown whole after a translated lead-in, so no refusal is lost."""

import re
from collections.abc import Callable

Translate = Callable[[str], str]

# (pattern, message id with the pattern's named groups as placeholders)
_SHAPES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), message) for pattern, message in (
        (r"(?P<actor>\S+) may not (?P<action>\w+) (?P<target>.+?): only the (?P<who>.+) may",
         "{actor} may not {action} {target}: only the {who} may"),
        (r"request (?P<request>\S+) still has open steps: (?P<steps>.+)",
         "request {request} still has open steps: {steps}"),
        (r"request (?P<request>\S+) is already waiting on the customer",
         "request {request} is already waiting on the customer"),
        (r"request (?P<request>\S+) is not waiting on the customer",
         "request {request} is not waiting on the customer"),
        (r"request (?P<request>\S+) is waiting on the customer",
         "request {request} is waiting on the customer"),
        (r"step (?P<step>\S+) is already claimed by (?P<owner>\S+)",
         "step {step} is already claimed by {owner}"),
        (r"request (?P<request>\S+) was already claimed", "request {request} was already claimed"),
        (r"request (?P<request>\S+) is (?P<status>\w+): cannot (?P<action>\w+) it",
         "request {request} is {status}: cannot {action} it"),
        (r"request (?P<request>\S+) already has priority (?P<priority>P\d)",
         "request {request} already has priority {priority}"),
        (r"step (?P<step>\S+) \((?P<stage>[^)]*)\) does not allow (?P<action>\w+)",
         "step {step} ({stage}) does not allow {action}"),
        (r"nobody in (?P<department>.+?) \((?P<department_id>\S+)\) has role "
         r"'(?P<role>[^']+)' \(roles there: (?P<roles>[^)]+)\)",
         "nobody in {department} ({department_id}) has role {role} (roles there: {roles})"),
    ))
# Words inside a refusal that are themselves translated (relations, actions, statuses).
_WORDS = ("request owner", "step owner", "supervisor", "head", "participant", "customer",
          "open", "in_progress", "waiting_on_customer", "resolved", "closed", "cancelled")


def _word(_: Translate, text: str) -> str:
    parts = [part.strip() for part in text.split(",")]
    return "、".join(_(part) if part in _WORDS else part for part in parts) if len(parts) > 1 \
        else (_(text) if text in _WORDS else text)


def translated(message: str, _: Translate) -> str:
    for pattern, template in _SHAPES:
        found = pattern.search(message)
        if found is not None:
            parts = {key: _word(_, value) for key, value in found.groupdict().items()}
            if "action" in parts:
                parts["action"] = _("action." + found.group("action"))
            if "target" in parts:
                parts["target"] = re.sub(r"^step (\S+) of request (\S+)$",
                                         _("step {0} of request {1}").replace("{0}", r"\1")
                                         .replace("{1}", r"\2"),
                                         found.group("target"))
                parts["target"] = re.sub(r"^request (\S+)$",
                                         _("request {0}").replace("{0}", r"\1"), parts["target"])
            return _(template).format(**parts)
    return _("The server refused: {reason}").format(reason=message)
