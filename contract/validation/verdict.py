"""One exchange, one variant: the verdict, with everything a report needs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from contract.validation.compiled import compiled_for
from contract.validation.messages import Exchange, HttpRequest, HttpResponse
from contract.validation.report_types import RequestReport, Violation

ENGINES = ("compiled", "openapi-core")


class Validator(Protocol):
    """What both engines offer."""

    def validate_request(self, request: HttpRequest) -> RequestReport: ...

    def validate_response(self, request: HttpRequest, response: HttpResponse,
                          operation: str | None = None) -> list[Violation]: ...


def validator(variant: str, engine: str = "compiled") -> Validator:
    """The shared validator of a variant: the compiled checks, or openapi-core's reading of
    the spec (slower; the reference the compiled one is tested against)."""
    if engine == "openapi-core":
        from contract.validation.reference import validator_for

        return validator_for(variant)
    if engine != "compiled":
        raise ValueError(f"unknown engine {engine!r} (known: {', '.join(ENGINES)})")
    return compiled_for(variant)


@dataclass
class Verdict:
    variant: str
    operation: str | None
    violations: list[Violation] = field(default_factory=list)
    defaults: dict[str, Any] = field(default_factory=dict)

    @property
    def valid(self) -> bool:
        """Nothing but warnings: every violation breaks only INTERPRETATION rows."""
        return not self.failures

    @property
    def failures(self) -> list[Violation]:
        return [v for v in self.violations if not v.warning]

    @property
    def warnings(self) -> list[Violation]:
        return [v for v in self.violations if v.warning]

    def as_dict(self) -> dict[str, Any]:
        return {"variant": self.variant, "operation": self.operation, "valid": self.valid,
                "warnings": len(self.warnings), "defaults": self.defaults,
                "violations": [v.as_dict() for v in self.violations]}


SUITES_OWN = "/__mock__/"  # our mock's introspection: the suite's requests, not the API's
OWN_NOTE = "the suite's own request (outside the API, /__mock__/...): not judged"


def suites_own(request: HttpRequest) -> bool:
    """Whether a request is the suite's own, outside the API (`conform` reads our mock's
    /__mock__/health and /__mock__/jobs; its HAR keeps them): it is not judged."""
    return request.path.startswith(SUITES_OWN)


def validate_exchange(exchange: Exchange, variant: str, engine: str = "compiled") -> Verdict:
    """Validate the request, and the response against it, under one variant (the suite's
    own requests are not judged: `suites_own`)."""
    if suites_own(exchange.request):
        return Verdict(variant, None)
    checking = validator(variant, engine)
    report = checking.validate_request(exchange.request)
    violations = list(report.violations)
    if exchange.response is not None:
        violations += checking.validate_response(exchange.request, exchange.response)
    if exchange.unrecorded:
        violations = [v for v in violations if not any(
            v.location == part or v.location.startswith(part + "/")
            for part in exchange.unrecorded)]
    return Verdict(variant, report.operation, violations, report.defaults)
