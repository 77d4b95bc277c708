"""processes/*.toml: one process template per file, each staffed by the organisation."""

from dataclasses import dataclass
from functools import partial
from pathlib import Path

from pydantic import Field, field_validator

from catalog.fields import ID_PATTERN, TomlTable
from catalog.organisation import Organisation
from catalog.problems import Loc, Problems, known
from domain.org import AssignmentRule
from domain.process import ProcessTemplate, StepAction

# The TOML-shaped models carry the domain's field names, aliased to the keys an author writes, so
# the domain model is validated from their dump instead of rebuilt field by field.


class _RawBranch(TomlTable):
    department_id: str = Field(alias="department")
    role: str = Field(min_length=1)
    skills: list[str] = []
    actions: list[StepAction] = Field(default_factory=lambda: list(StepAction), min_length=1)

    @field_validator("actions", mode="before")
    @classmethod
    def _known_actions(cls, value: object) -> object:
        if isinstance(value, list):
            known = [action.value for action in StepAction]
            for item in value:
                if item not in known:
                    raise ValueError(f"unknown action {item!r} (known: {', '.join(known)})")
            return [StepAction(item) for item in value]
        return value

    @field_validator("actions")
    @classmethod
    def _completable(cls, actions: list[StepAction]) -> list[StepAction]:
        if StepAction.COMPLETE not in actions:
            raise ValueError("actions must include 'complete', or the step could never finish")
        return actions


class _RawStage(TomlTable):
    id: str = Field(pattern=ID_PATTERN)
    name: str = Field(min_length=1)
    branches: list[_RawBranch] = Field(min_length=1)


class _RawTemplate(TomlTable):
    id: str = Field(pattern=ID_PATTERN, max_length=64)
    version: int = Field(ge=1)
    name: str = Field(min_length=1)
    owner_department_id: str = Field(alias="owner_department")
    owner_role: str = Field(min_length=1)
    stages: list[_RawStage] = Field(min_length=1)


@dataclass
class Processes:
    """The templates built, and the stage ids of every template declared (None where a broken
    file left them unknown), for checking the SLA policy's references."""

    templates: dict[str, ProcessTemplate]
    stages: dict[str, set[str] | None]


def load_templates(problems: Problems, folder: Path, org: Organisation) -> Processes:
    """The templates, one per file; those that fail are reported and left out."""
    processes = Processes({}, {})
    if not folder.is_dir():
        problems.add(folder, (), "directory not found: put one process template per .toml here")
        return processes
    files = sorted(folder.glob("*.toml"))
    if not files:
        problems.add(folder, (), "no process templates (*.toml) found")
    first_seen: dict[str, Path] = {}
    for file in files:
        data = problems.read_toml(file)
        raw = None if data is None else problems.validate(_RawTemplate, data, file)
        if raw is None:
            # Its id (or, failing that, the file name) is declared with unknown stages, so the
            # SLA policy's references to it do not add follow-on errors.
            declared = data.get("id") if data is not None else None
            processes.stages.setdefault(declared if isinstance(declared, str) else file.stem, None)
            continue
        if raw.id in first_seen:
            problems.add(
                file, ("id",), f"duplicate template id {raw.id!r} (also in {first_seen[raw.id]})"
            )
            continue
        first_seen[raw.id] = file
        processes.stages[raw.id] = {stage.id for stage in raw.stages}
        if _check_template(problems, file, raw, org):
            template = problems.build(
                partial(ProcessTemplate.model_validate, raw.model_dump()), file, ()
            )
            if template is not None:
                processes.templates[raw.id] = template
    return processes


def _check_template(problems: Problems, file: Path, raw: _RawTemplate, org: Organisation) -> bool:
    ok = check_staffed(
        problems,
        file,
        ("owner_department",),
        ("owner_role",),
        raw.owner_department_id,
        raw.owner_role,
        frozenset(),
        org,
    )
    first_stage: dict[str, int] = {}
    for stage_index, stage in enumerate(raw.stages):
        if stage.id in first_stage:
            problems.add(
                file,
                ("stages", stage_index, "id"),
                f"duplicate stage id {stage.id!r} (also stages[{first_stage[stage.id]}])",
            )
            ok = False
        first_stage.setdefault(stage.id, stage_index)
        first_branch: dict[str, int] = {}
        for branch_index, branch in enumerate(stage.branches):
            where: Loc = ("stages", stage_index, "branches", branch_index)
            if branch.department_id in first_branch:
                problems.add(
                    file,
                    (*where, "department"),
                    f"department {branch.department_id!r} already has a branch in this stage"
                    f" (branches[{first_branch[branch.department_id]}])",
                )
                ok = False
            first_branch.setdefault(branch.department_id, branch_index)
            ok &= check_staffed(
                problems,
                file,
                (*where, "department"),
                (*where, "role"),
                branch.department_id,
                branch.role,
                frozenset(branch.skills),
                org,
                skills_at=(*where, "skills"),
            )
    return ok


def check_staffed(
    problems: Problems,
    file: Path,
    department_at: Loc,
    role_at: Loc,
    department_id: str,
    role: str,
    skills: frozenset[str],
    org: Organisation,
    *,
    skills_at: Loc = (),
) -> bool:
    """Whether the department exists and someone on its roster holds the role (and, where the
    department assigns by skill, all the skills)."""
    raw = org.raw_departments.get(department_id)
    if raw is None:
        problems.add(
            file,
            department_at,
            f"unknown department {department_id!r} {known(org.raw_departments)}",
        )
        return False
    if department_id in org.incomplete_rosters:
        return False  # its roster has problems of its own, reported in organisation.toml
    members = org.members[department_id]
    holders = [member for member in members if role in member.roles]
    if not holders:
        roles = {held for member in members for held in member.roles}
        problems.add(
            file,
            role_at,
            f"no member of department {department_id!r} has role {role!r}"
            f" (roles there: {', '.join(sorted(roles)) or 'none'})",
        )
        return False
    if (
        skills
        and raw.assignment == AssignmentRule.SKILL_MATCH.value
        and not any(skills <= set(member.skills) for member in holders)
    ):
        problems.add(
            file,
            skills_at,
            f"no member of department {department_id!r} with role {role!r} has all of the"
            f" skills {', '.join(sorted(skills))}",
        )
        return False
    return True
