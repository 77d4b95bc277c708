"""Process templates: the ordered stages a request type goes through. A stage with several
branches fans out to those departments in parallel and joins when all are complete."""

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator

from domain.sets import SortedSet


class StepAction(StrEnum):
    """Actions a step owner may take at a step (the template may narrow them)."""

    COMPLETE = "complete"
    HAND_OFF = "hand_off"
    ASK_CUSTOMER = "ask_customer"
    ADD_NOTE = "add_note"


class Branch(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    department_id: str
    role: str
    skills: SortedSet[str] = frozenset()
    actions: SortedSet[StepAction] = frozenset(StepAction)


class Stage(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str
    branches: tuple[Branch, ...] = Field(min_length=1)


class ProcessTemplate(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1)
    version: int = Field(ge=1)
    name: str
    owner_department_id: str
    owner_role: str
    stages: tuple[Stage, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_stages(self) -> "ProcessTemplate":
        ids = [stage.id for stage in self.stages]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"stage ids repeated: {', '.join(duplicates)}")
        return self

    def department_ids(self) -> set[str]:
        return {self.owner_department_id} | {
            branch.department_id for stage in self.stages for branch in stage.branches
        }
