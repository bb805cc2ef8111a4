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

from contract.mock.messages import Incoming, NotUtf8, decode_path, parse_query
from contract.mock.params import Parsed, Problem
from contract.mock.routing import Match, NoMatch, Router
from contract.model import Contract
from contract.validation.messages import HttpRequest, HttpResponse
from contract.validation.report_types import RequestReport, Violation
from contract.variants import generated_server

ResponseCheck = Callable[[Incoming, Parsed], None]


class CompiledValidator:
    """The contract of one variant as generated code. Build once, reuse: it holds no state
    between exchanges."""

    engine = "compiled"

    def __init__(self, variant: str):
        self.variant = variant
        app, responses = generated_server(variant, "app"), generated_server(variant, "responses")
        self.contract: Contract = app.CONTRACT
        self.router = Router(app.ROUTES, self.contract.alternative_headers)
        self._responses: dict[str, dict[int, ResponseCheck]] = responses.RESPONSES
        self._success: dict[str, tuple[str, ...]] = responses.SUCCESS_STATEMENTS
        self._cited: dict[str, dict[int, tuple[str, ...]]] = responses.CITED
        self._token = self.contract.token_header

    # -- requests ----------------------------------------------------------------------------

    def validate_request(self, request: HttpRequest) -> RequestReport:
        try:
            incoming = _incoming(request)
        except NotUtf8 as error:
            return RequestReport(None, [Violation("request.path", str(error))])
        matched = self.router.match(incoming)
        if isinstance(matched, NoMatch):
            return RequestReport(None, [self._unrouted(request, matched)])
        return self._admit(incoming, matched)

    def _unrouted(self, request: HttpRequest, verdict: NoMatch) -> Violation:
        if verdict.allowed:
            return Violation("request.method", f"{request.method.upper()} is not an "
                             f"operation of {request.path}")
        if verdict.header:
            return Violation("request.path", f"{request.path} has no project id: put it in "
                             f"the URI or send the {verdict.header} header",
                             self.contract.alternative_header_statements)
        return Violation("request.path", f"no operation of the contract matches "
                         f"{request.method.upper()} {request.path}")

    def _admit(self, incoming: Incoming, matched: Match) -> RequestReport:
        operation = matched.operation
        incoming.path_params = matched.path_params
        report = RequestReport(operation.id)
        token = incoming.header(self._token)
        if token is None or not token.strip():
            state = "missing; every operation requires it" if token is None else "empty"
            report.violations.append(Violation(f"request.header.{self._token}",
                                               f"the {self._token} header is {state}",
                                               self.contract.token_statements))
        parsed = operation.check(incoming)
        report.violations += [_violation("request", problem) for problem in parsed.problems]
        if incoming.body and not operation.takes_body:
            report.violations.append(Violation(
                "request.body", f"{operation.id} takes no request body, got "
                f"{len(incoming.body)} bytes", operation.statements))
        report.defaults = dict(parsed.defaults)
        return report

    # -- responses ---------------------------------------------------------------------------

    def validate_response(self, request: HttpRequest, response: HttpResponse,
                          operation: str | None = None) -> list[Violation]:
        """The response's violations; `operation`, when the request's report named it,
        saves routing the request again."""
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
            documented = ", ".join(str(status) for status in self._responses[operation])
            return [Violation("response.status", f"status {response.status} is not documented "
                              f"for {operation} (documented: {documented})",
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
