"""A proposed configuration: the proposal's files laid over today's configuration folder, so a
proposal holds only what it changes (``sla.toml``; ``organisation.toml`` for calendars and
holidays; ``processes/*.toml``)."""

import re
import shutil
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import date
from pathlib import Path

from catalog.loader import load_catalog_around
from catalog.problems import ConfigError
from domain.catalog import Catalog

PROPOSAL_FILE = re.compile(r"^(sla|organisation)\.toml$|^processes/[a-z0-9_-]{1,64}\.toml$")
"""The names a proposal's file may have, relative to the configuration folder."""


def _loaded(current: Path, lay: Callable[[Path], None], month: date) -> Catalog:
    with tempfile.TemporaryDirectory(prefix="caseflow-proposal-") as folder:
        merged = Path(folder) / "config"
        shutil.copytree(current, merged)
        lay(merged)
        try:
            return load_catalog_around(merged, month)
        except ConfigError as error:
            # Named as in the configuration folder, not in the scratch copy of it.
            raise ConfigError(replace(problem, file=problem.file.replace(f"{merged}/", ""))
                              for problem in error.problems) from None


def proposed_from_folder(current: Path, proposal: Path, month: date) -> Catalog:
    """The catalog of ``proposal`` (a folder in the format of ``config/``) over ``current``.
    Raises ValueError if it is not a folder, ConfigError if the result does not load."""
    if not proposal.is_dir():
        raise ValueError(f"--proposed {str(proposal)[:200]!r}: not a directory")

    def lay(merged: Path) -> None:
        shutil.copytree(proposal, merged, dirs_exist_ok=True)

    return _loaded(current, lay, month)


def proposed_from_files(current: Path, files: Mapping[str, str], month: date) -> Catalog:
    """The catalog of ``files`` (name relative to the configuration folder -> TOML text) over
    ``current``. Raises ValueError for a name a proposal cannot have, ConfigError if the result
    does not load."""
    for name in files:
        if not PROPOSAL_FILE.match(name):
            raise ValueError(f"proposal file {name[:80]!r}: expected sla.toml, "
                             "organisation.toml or processes/NAME.toml")

    def lay(merged: Path) -> None:
        for name, text in files.items():
            (merged / name).write_text(text, encoding="utf-8")

    return _loaded(current, lay, month)
