"""The compiled validator: requests and responses checked by the code generated from the spec.

`cdn-contract generate server` compiles each operation's parameters, bodies and documented
responses into plain Python (`generated/server/cdn_<variant>/checks.py` and `responses.py`)
and its routes into a table; the mock admits requests with the same code. This validator
runs it on recorded or proxied exchanges, with the interface of the openapi-core one
(`ContractValidator`), which stays the oracle the tests hold it to.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

from contract.checks.admission import Refusal, admit
from contract.checks.messages import Incoming, NotUtf8, decode_path, parse_query
from contract.checks.params import Parsed, Problem
from contract.checks.routing import NoMatch, Router
from contract.model import Contract
from contract.spec.variants import generated_server
from contract.validation.messages import HttpRequest, HttpResponse
from contract.validation.report_types import (
    RequestReport,
    Violation,
    graded,
    undocumented_status,
)

ResponseCheck = Callable[[Incoming, Parsed], None]


class CompiledValidator:
    """The contract of one variant as generated code. Build once, reuse: it holds no state
    between exchanges."""

    engine = "compiled"

    def __init__(self, variant: str):
        self.variant = variant
        routes = generated_server(variant, "routes")
        responses = generated_server(variant, "responses")
        self.contract: Contract = routes.CONTRACT
        self.router = Router(routes.ROUTES, self.contract.alternative_headers)
        self._responses: dict[str, dict[int, ResponseCheck]] = responses.RESPONSES
        self._success: dict[str, tuple[str, ...]] = responses.SUCCESS_STATEMENTS
        self._cited: dict[str, dict[int, tuple[str, ...]]] = responses.CITED

    # -- requests ----------------------------------------------------------------------------

    def validate_request(self, request: HttpRequest) -> RequestReport:
        """The request's report, each violation with its statements' level."""
        report = self._request(request)
        report.violations = graded(report.violations, self.contract.levels)
        return report

    def _request(self, request: HttpRequest) -> RequestReport:
        try:
            incoming = _incoming(request)
        except NotUtf8 as error:
            return RequestReport(None, [Violation("request.path", str(error))])
        verdict = admit(self.router, incoming, self.contract)
        if verdict.match is None:
            return RequestReport(None, [_refused(verdict.refusals[0])])
        report = RequestReport(verdict.match.operation.id)
        report.violations += [_refused(r) for r in verdict.refusals if r.status == 401]
        if verdict.params is not None:
            report.violations += [_violation("request", p) for p in verdict.params.problems]
            report.defaults = dict(verdict.params.defaults)
        report.violations += [_refused(r) for r in verdict.refusals if r.status != 401]
        return report

    # -- responses ---------------------------------------------------------------------------

    def validate_response(self, request: HttpRequest, response: HttpResponse,
                          operation: str | None = None) -> list[Violation]:
        """The response's violations, each with its statements' level; `operation`, when
        the request's report named it, saves routing the request again."""
        return graded(self._response(request, response, operation), self.contract.levels)

    def _response(self, request: HttpRequest, response: HttpResponse,
                  operation: str | None) -> list[Violation]:
        if operation is None:
            try:
                matched = self.router.match(_incoming(request))
            except NotUtf8:
                return []  # the request's own report says why
            if isinstance(matched, NoMatch):
                return []  # the request's own report says why; a response cannot be placed
            operation = matched.operation.id
        check = self._responses[operation].get(response.status)
        if check is None:
            return [undocumented_status(operation, response.status, self._responses[operation],
                                        self._success[operation])]
        parsed = Parsed(operation)
        check(Incoming("", "", [], _lowered(response.headers), response.body), parsed)
        cited = self._cited[operation].get(response.status, ())
        return [_violation("response", problem, cited) for problem in parsed.problems]


def _incoming(request: HttpRequest) -> Incoming:
    raw_path, _, raw_query = request.url.partition("?")
    if "://" in raw_path:
        raw_path = "/" + raw_path.split("://", 1)[1].partition("/")[2]
    return Incoming(request.method.upper(), decode_path(raw_path) or "/",
                    parse_query(raw_query.partition("#")[0]), _lowered(request.headers),
                    request.body)


def _lowered(headers: tuple[tuple[str, str], ...]) -> dict[str, str]:
    """Lower-case names, the first value of each (as the checks read headers)."""
    found: dict[str, str] = {}
    for name, value in headers:
        found.setdefault(name.lower(), value)
    return found


def _refused(refusal: Refusal) -> Violation:
    return Violation(refusal.location, refusal.message, refusal.statements)


def _violation(direction: str, problem: Problem, cited: tuple[str, ...] = ()) -> Violation:
    statements = problem.statements or cited
    if problem.location == "body":
        return Violation(f"{direction}.body{problem.name}", problem.message, statements)
    where = f"{direction}.{problem.location}.{problem.name}"
    what = "header" if direction == "response" else f"{problem.location} parameter"
    if problem.message == "is required":
        return Violation(where, f"required {what} `{problem.name}` is missing", statements)
    return Violation(where, f"{what} `{problem.name}`: {problem.message}", statements)


@cache
def compiled_for(variant: str) -> CompiledValidator:
    return CompiledValidator(variant)
