"""Policy coverage: every request type x priority x tier has exactly one most specific target."""

from collections.abc import Iterable, Sequence
from pathlib import Path

from catalog.problems import Problems
from domain.policy import TargetRule
from domain.request import CustomerTier, Priority


def check_coverage(
    problems: Problems,
    file: Path,
    rules: Sequence[TargetRule],
    request_types: Iterable[str],
) -> bool:
    """Whether every request type x priority x tier has exactly one most specific rule
    (otherwise the order of the rules would silently decide)."""
    ok = True
    for request_type in sorted(request_types):
        uncovered: list[str] = []
        ties: dict[tuple[int, ...], list[str]] = {}
        for priority in Priority:
            for tier in CustomerTier:
                matching = [
                    (index, rule)
                    for index, rule in enumerate(rules)
                    if rule.matches(request_type, priority, tier)
                ]
                if not matching:
                    uncovered.append(f"{priority.value}/{tier.value}")
                    continue
                best = max(rule.specificity() for _, rule in matching)
                tied = tuple(index for index, rule in matching if rule.specificity() == best)
                if len(tied) > 1:
                    ties.setdefault(tied, []).append(f"{priority.value}/{tier.value}")
        for tied, cases in ties.items():
            ok = False
            shown = " and ".join(f"targets[{index}]" for index in tied)
            problems.add(
                file,
                ("targets",),
                f"ambiguous targets for {request_type} {', '.join(cases)}: {shown} match"
                " equally specifically; add a more specific target for these cases",
            )
        if uncovered:
            ok = False
            problems.add(
                file,
                ("targets",),
                f"no target covers {request_type} {', '.join(uncovered)};"
                ' add one (request_type, priority and tier may be "*")',
            )
    return ok
