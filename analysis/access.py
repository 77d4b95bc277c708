"""Who may read the decision analyses: managers, i.e. the supervisor or head of a department
of the organisation. The analyses span every department's requests and customers, so they are
a manager's view, not an agent's."""

from domain.catalog import Catalog


class NotAManager(PermissionError):
    """The person leads no department; the message says who may read the analyses."""


def check_manager(catalog: Catalog, person_id: str) -> None:
    """Returns if ``person_id`` supervises or heads a department, else raises NotAManager."""
    if any(person_id in (d.supervisor_id, d.head_id) for d in catalog.departments.values()):
        return
    raise NotAManager(f"{person_id[:64]} is no department's supervisor or head: the analyses "
                      "are for managers")
