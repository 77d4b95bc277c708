"""Sets that serialise in one order: pydantic writes a frozenset in iteration order, which for
strings and dates depends on the process's hash seed, so the same plan or event would be
written (and digested, and replayed as activity input) differently by each worker."""

from typing import Annotated, TypeVar

from pydantic import PlainSerializer

T = TypeVar("T")

SortedSet = Annotated[frozenset[T], PlainSerializer(sorted, return_type=list, when_used="json")]
"""A frozenset written to JSON as a sorted list."""
