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


def undocumented_status(operation: str, status: int, documented: Iterable[str | int],
                        success: tuple[str, ...]) -> Violation:
    """A status the operation does not document, judged on its own as `conform` judges it:
    another 2xx breaks what its `success` statements say of the answer (S2: 202), a 5xx is
    the server's own failure (S36), any other breaks the spec itself (the statuses it
    documents; no statement of the notes: a failure). Every one cited the success
    statements: a 405 on the cached-asset report read as an S30 warning (exit 0), a 500 on
    a purge as S2 and S4."""
    listed = ", ".join(str(code) for code in documented)
    said = f"status {status} is not documented for {operation} (documented: {listed})"
    if 200 <= status < 300:
        return Violation("response.status", said, success)
    if status >= 500:
        return Violation("response.status", f"{said}: a 5xx is the server's own failure",
                         ("S36",))
    return Violation("response.status", said)


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
