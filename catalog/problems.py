"""What a configuration gets wrong: each problem names file, key path and what is wrong, and all
of them are collected before the load fails, so an author sees everything at once."""

import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, time
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError


@dataclass(frozen=True)
class ConfigProblem:
    """One problem: the file (as given, relative to the caller's path), where in it, and what."""

    file: str
    key: str
    message: str

    def __str__(self) -> str:
        return (
            f"{self.file}: {self.key}: {self.message}"
            if self.key
            else (f"{self.file}: {self.message}")
        )


class ConfigError(ValueError):
    """The configuration is invalid; ``problems`` lists everything found, one per line in str()."""

    def __init__(self, problems: Iterable[ConfigProblem]) -> None:
        self.problems: list[ConfigProblem] = list(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))

    def __reduce__(self) -> tuple[type["ConfigError"], tuple[list[ConfigProblem]]]:
        return ConfigError, (self.problems,)



_M = TypeVar("_M", bound=BaseModel)
_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
Loc = tuple[str | int, ...]


def key_path(loc: Iterable[str | int]) -> str:
    """A TOML-style key path: ``stages[1].branches[0].department``."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            name = part if _BARE_KEY.match(part) else '"' + part.replace('"', '\\"') + '"'
            path += f".{name}" if path else name
    return path


def describe(error: Mapping[str, Any]) -> str:
    kind = error["type"]
    if kind == "missing":
        return "required key missing"
    if kind == "extra_forbidden":
        return "unknown key"
    if kind in ("value_error", "assertion_error"):
        return str(error["ctx"]["error"])
    message = str(error["msg"])
    value = error.get("input")
    if isinstance(value, str | int | float | bool | date | time):
        return f"{message}, got {value!r}"
    return message


class Problems:
    def __init__(self) -> None:
        self.found: list[ConfigProblem] = []
        self._locs: list[Loc] = []
        self.notices: list[ConfigProblem] = []

    def notice(self, file: Path, loc: Loc, message: str) -> None:
        """Records something worth knowing that is not a problem."""
        self.notices.append(ConfigProblem(str(file), key_path(loc), message))

    def add(self, file: Path, loc: Loc, message: str, *, key: str | None = None) -> None:
        """Records a problem at ``loc`` (or at a ``key`` that is not a key path)."""
        self._locs.append(tuple(loc))
        self.found.append(ConfigProblem(str(file), key_path(loc) if key is None else key, message))

    def sorted(self) -> list[ConfigProblem]:
        """By file, then by key path: list items by index, keys in the order first reported
        (which follows the order of the fields), a table before the keys inside it."""
        rank: dict[tuple[str, Loc], int] = {}
        for problem, loc in zip(self.found, self._locs, strict=True):
            for size in range(1, len(loc) + 1):
                rank.setdefault((problem.file, loc[:size]), len(rank))

        def order(index: int) -> tuple[str, tuple[tuple[int, int], ...], int]:
            problem, loc = self.found[index], self._locs[index]
            parts = tuple(
                (0, part) if isinstance(part, int) else (1, rank[(problem.file, loc[: at + 1])])
                for at, part in enumerate(loc)
            )
            return problem.file, parts, index

        return [self.found[index] for index in sorted(range(len(self.found)), key=order)]

    def add_validation(self, file: Path, prefix: Loc, error: ValidationError) -> None:
        for item in error.errors():
            loc = tuple(part for part in item["loc"] if part != "[key]")
            self.add(file, prefix + loc, describe(item))

    def validate(self, model: type[_M], data: object, file: Path, prefix: Loc = ()) -> _M | None:
        try:
            return model.model_validate(data)
        except ValidationError as error:
            self.add_validation(file, prefix, error)
            return None

    def build(self, factory: Callable[[], _M], file: Path, prefix: Loc) -> _M | None:
        """A domain object from already checked parts; what it still refuses is reported."""
        try:
            return factory()
        except ValidationError as error:
            self.add_validation(file, prefix, error)
        except (ValueError, NotImplementedError) as error:
            self.add(file, prefix, str(error))
        return None

    def read_toml(self, file: Path) -> dict[str, Any] | None:
        try:
            raw = file.read_bytes()
        except FileNotFoundError:
            self.add(file, (), "file not found")
            return None
        except OSError as error:
            self.add(file, (), f"cannot read: {error.strerror or error}")
            return None
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            self.add(file, (), f"not UTF-8 text (byte {error.start}): save the file as UTF-8")
            return None
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as error:
            message = str(error)
            where = re.search(r"\s*\(at (line \d+, column \d+|end of document)\)$", message)
            if where is None:
                self.add(file, (), f"invalid TOML: {message}")
            else:
                self.add(file, (), f"invalid TOML: {message[: where.start()]}", key=where[1])
            return None


def known(names: Iterable[str]) -> str:
    listed = sorted(names)
    return f"(known: {', '.join(listed)})" if listed else "(none are defined)"
