"""Loads the organisation configuration (calendars, departments, process templates, SLA policy)
from a directory of TOML files into a validated ``Catalog``.

Config side only: it reads files and imports ``holidays`` (through ``catalog.calendars_cn``), so
workflow code must not import it; workflows receive what it built, pinned on each request.

Layout of the directory (documented in docs/configuration.md)::

    organisation.toml    [calendars.<id>] and [[departments]] with [[departments.members]]
    processes/*.toml     one process template per file; its id is the request type
    sla.toml             the SLA policy: thresholds, windows, [escalation] and [[targets]]

Every problem found is reported, not only the first: ``ConfigError.problems`` lists each as
``FILE: KEY PATH: PROBLEM``, e.g. ``config/processes/billing_dispute.toml:
stages[1].branches[0].department: unknown department 'legall' (known: customer_service, ...)``.
Parts that are broken are left out of the later cross-checks instead of producing follow-on
errors about them.
"""

from collections.abc import Iterable
from datetime import date
from pathlib import Path

from catalog.organisation import load_organisation
from catalog.policy import load_policy
from catalog.problems import ConfigError, Problems
from catalog.templates import load_templates
from domain.catalog import Catalog
from stack.paths import CONFIG_DIR

DEFAULT_CONFIG_DIR = CONFIG_DIR
ORGANISATION_FILE = "organisation.toml"
SLA_FILE = "sla.toml"
PROCESSES_DIR = "processes"


def load_catalog(directory: Path, *, years: Iterable[int]) -> Catalog:
    """The catalog in ``directory``; calendars contain the holidays of ``years``.

    Raises ConfigError listing every problem found."""
    wanted_years = tuple(sorted(set(years)))
    if not wanted_years:
        raise ValueError("years must name at least one year of public holidays")
    problems = Problems()
    if not directory.is_dir():
        problems.add(directory, (), "configuration directory not found")
        raise ConfigError(problems.sorted())
    org = load_organisation(problems, directory / ORGANISATION_FILE, wanted_years)
    processes = load_templates(problems, directory / PROCESSES_DIR, org)
    policy = load_policy(problems, directory / SLA_FILE, processes)
    if policy is None and not problems.found:  # not expected: every refusal is reported
        problems.add(directory / SLA_FILE, (), "no SLA policy could be built")
    if problems.found or policy is None:
        raise ConfigError(problems.sorted())
    return Catalog(
        departments=org.departments,
        templates=processes.templates,
        policy=policy,
        years=wanted_years,
        notices=tuple(str(notice) for notice in problems.notices),
    )


def load_catalog_around(directory: Path, today: date | None = None) -> Catalog:
    """The catalog in ``directory`` with the holidays of the year before ``today`` (default:
    today), its year and the next: every date a request open now can reach."""
    year = (today or date.today()).year
    return load_catalog(directory, years=range(year - 1, year + 2))
