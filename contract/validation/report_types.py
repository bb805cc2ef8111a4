"""What a validator finds, whichever engine it runs: violations, and a request's report."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

LEVELS = ("MUST", "SHOULD", "INTERPRETATION")  # strongest first


@dataclass(frozen=True)
class Violation:
    """One way an exchange breaks the contract."""

    location: str  # request.query.hard, response.header.Location, response.body/status, ...
    message: str
    statements: tuple[str, ...] = ()
    level: str = ""  # the strongest of its statements' levels; "" when it cites none

    @property
    def warning(self) -> bool:
        """Only INTERPRETATION rows ask for what it breaks: a warning, as in `conform`
        (a violation citing no statement breaks the spec itself: a failure)."""
        return self.level == "INTERPRETATION"

    def as_dict(self) -> dict[str, Any]:
        return {"location": self.location, "message": self.message,
                "statements": list(self.statements), "level": self.level or None,
                "warning": self.warning}


def graded(violations: Iterable[Violation], levels: Mapping[str, str]) -> list[Violation]:
    """`violations`, each with the strongest level of the statements it cites (a statement
    the spec does not list counts as MUST)."""
    return [replace(v, level=min((levels.get(s, "MUST") for s in v.statements),
                                 key=_rank, default=""))
            for v in violations]


def _rank(level: str) -> int:
    return LEVELS.index(level) if level in LEVELS else 0


@dataclass
class RequestReport:
    operation: str | None
    violations: list[Violation] = field(default_factory=list)
    defaults: dict[str, Any] = field(default_factory=dict)  # query defaults the contract applied
