"""The payload table names every event payload type, with a handler or as ignored."""

import pytest

from domain.commands import AddNote
from domain.dispatch import CommandTable, PayloadTable
from domain.events import PAYLOAD_TYPES, Closed, NoteAdded, Submitted

EVERY_OTHER = [kind for kind in PAYLOAD_TYPES.values() if kind is not Submitted]


def test_a_handled_type_finds_its_handler_and_an_ignored_one_none() -> None:
    table = PayloadTable({Submitted: "submitted"}, ignored=EVERY_OTHER)
    assert table.handler(Submitted) == "submitted"
    assert table.handler(NoteAdded) is None


def test_a_type_left_out_is_refused_by_name() -> None:
    with pytest.raises(TypeError, match=r"no handler and not ignored: Closed, Submitted$"):
        PayloadTable({}, ignored=[kind for kind in EVERY_OTHER if kind is not Closed])


def test_a_type_both_handled_and_ignored_is_refused() -> None:
    with pytest.raises(TypeError, match=r"both handled and ignored: Submitted$"):
        PayloadTable({Submitted: "submitted"}, ignored=PAYLOAD_TYPES.values())


def test_the_command_table_names_every_command() -> None:
    with pytest.raises(TypeError, match=r"command table: no handler and not ignored: .*Claim"):
        CommandTable({AddNote: "note"})
