"""One exchange, one variant: the verdict, with everything a report needs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from contract.validation.messages import Exchange
from contract.validation.validator import Violation, validator_for


@dataclass
class Verdict:
    variant: str
    operation: str | None
    violations: list[Violation] = field(default_factory=list)
    defaults: dict[str, Any] = field(default_factory=dict)

    @property
    def valid(self) -> bool:
        return not self.violations

    def as_dict(self) -> dict[str, Any]:
        return {"variant": self.variant, "operation": self.operation, "valid": self.valid,
                "defaults": self.defaults,
                "violations": [v.as_dict() for v in self.violations]}


def validate_exchange(exchange: Exchange, variant: str) -> Verdict:
    """Validate the request, and the response against it, under one variant."""
    validator = validator_for(variant)
    report = validator.validate_request(exchange.request)
    violations = list(report.violations)
    if exchange.response is not None:
        violations += validator.validate_response(exchange.request, exchange.response)
    return Verdict(variant, report.operation, violations, report.defaults)
