"""Finding a customer by what an agent or manager types: part of the name (compared as the
duplicates compare names: full-width forms, spaces, punctuation and the legal form ignored) or
the start of the id."""

from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict

from analysis.duplicates import normalise_name


class CustomerMatch(BaseModel):
    model_config = ConfigDict(frozen=True)

    customer_id: str
    name: str  # on their latest request


def find_customers(names_by_customer: Mapping[str, str], query: str, *,
                   limit: int) -> tuple[CustomerMatch, ...]:
    """Customers whose id starts with ``query`` (case ignored) or whose normalised name holds
    the normalised ``query``; ids first, then by id. Nothing for a query that normalises to
    nothing."""
    wanted = normalise_name(query)
    prefix = query.strip().casefold()
    if not wanted and not prefix:
        return ()
    by_id = sorted(c for c in names_by_customer if prefix and c.casefold().startswith(prefix))
    by_name = sorted(c for c, name in names_by_customer.items()
                     if wanted and wanted in normalise_name(name) and c not in by_id)
    return tuple(CustomerMatch(customer_id=c, name=names_by_customer[c])
                 for c in [*by_id, *by_name][:limit])
