"""Customers who may be one customer under two ids: suggestions for a supervisor, never merges.

The log knows a customer by id, name and tier (requests carry no phone or e-mail), so the
evidence is the name: equal once normalised (full-width and half-width forms, spaces,
punctuation and the legal-form suffix such as 有限公司 ignored), or nearly equal."""

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping
from difflib import SequenceMatcher
from itertools import combinations

from pydantic import BaseModel, ConfigDict

# Chinese legal forms anywhere (某某有限公司（上海）), Latin ones at the end only.
_CHINESE_FORMS = ("股份有限公司", "有限责任公司", "有限公司", "公司")
_LATIN_FORMS = ("coltd", "ltd", "inc", "gmbh", "co")
_NOT_NAME = re.compile(r"[\W_]+")
NEAR = 0.88
"""Similarity (difflib ratio of normalised names) from which two names are suggested."""


def normalise_name(name: str) -> str:
    """``"上海星河贸易有限公司（Shanghai）"`` -> ``"上海星河贸易shanghai"``."""
    text = _NOT_NAME.sub("", unicodedata.normalize("NFKC", name).casefold())
    for form in _CHINESE_FORMS:  # longest first: only one of them is the legal form
        if form in text:
            return text if text == form else text.replace(form, "", 1)
    for form in _LATIN_FORMS:
        if text.endswith(form):
            return text if text == form else text[: -len(form)]
    return text


class DuplicateSuggestion(BaseModel):
    model_config = ConfigDict(frozen=True)

    customer_ids: tuple[str, str]
    names: tuple[str, str]
    similarity: float
    reason: str


def suggest_duplicates(names_by_customer: Mapping[str, str], *,
                       near: float = NEAR) -> tuple[DuplicateSuggestion, ...]:
    """Pairs of customer ids whose names match (most similar first). Names are compared only
    within a block of the same first normalised character, so the work stays near-linear."""
    normalised = {cid: normalise_name(name) for cid, name in names_by_customer.items()}
    blocks: dict[str, list[str]] = defaultdict(list)
    for cid in sorted(normalised):
        if normalised[cid]:
            blocks[normalised[cid][0]].append(cid)
    found: list[DuplicateSuggestion] = []
    for members in blocks.values():
        for a, b in combinations(members, 2):
            left, right = normalised[a], normalised[b]
            ratio = 1.0 if left == right else SequenceMatcher(None, left, right).ratio()
            if ratio < near:
                continue
            found.append(DuplicateSuggestion(
                customer_ids=(a, b), names=(names_by_customer[a], names_by_customer[b]),
                similarity=round(ratio, 3),
                reason="same name once normalised" if ratio == 1.0 else "near-identical name"))
    return tuple(sorted(found, key=lambda s: (-s.similarity, s.customer_ids)))


def latest_names(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Customer id -> the name on their latest request, from (id, name) in log order."""
    names: dict[str, str] = {}
    for customer_id, name in pairs:
        names[customer_id] = name
    return names
