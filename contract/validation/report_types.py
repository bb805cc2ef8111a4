"""What a validator finds, whichever engine it runs: violations, and a request's report."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Violation:
    """One way an exchange breaks the contract."""

    location: str  # request.query.hard, response.header.Location, response.body/status, ...
    message: str
    statements: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {"location": self.location, "message": self.message,
                "statements": list(self.statements)}


@dataclass
class RequestReport:
    operation: str | None
    violations: list[Violation] = field(default_factory=list)
    defaults: dict[str, Any] = field(default_factory=dict)  # query defaults the contract applied
