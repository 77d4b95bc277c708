"""The organisation as the engine sees it once loaded: departments, process templates and the
SLA policy. Pure data; reading it from files is the catalog package's job."""

from pydantic import BaseModel, ConfigDict

from domain.org import Department
from domain.policy import SlaPolicy
from domain.process import ProcessTemplate


class Catalog(BaseModel):
    """The loaded configuration: departments and templates by id, and the SLA policy.

    ``years`` are the years whose public holidays and make-up days the calendars contain.
    ``notices`` are what an operator should know that does not stop the configuration from
    loading, one line each, naming file and key like a problem."""

    model_config = ConfigDict(frozen=True)

    departments: dict[str, Department]
    templates: dict[str, ProcessTemplate]
    policy: SlaPolicy
    years: tuple[int, ...] = ()
    notices: tuple[str, ...] = ()
