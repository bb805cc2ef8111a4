"""One admission verdict for a request, for every stage that judges one.

The mock, the compiled validator and the proxy (through the validator) all ask `admit`: is
there an operation for this method and path, does the request carry a token, what do the
operation's generated checks say of its parameters and body, does it send a body the
operation does not take. The verdict says all of it, without I/O and without deciding what
to do: a server answers the first refusal (the order below is the order a server meets
them), a validator reports every one. Token *validity* is not the contract's business (the
docs name no token format); the mock's `--tokens` policy is applied on top, by the mock.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from contract.checks import purge_rules
from contract.checks.messages import Incoming
from contract.checks.params import Parsed
from contract.checks.routing import Match, NoMatch, Router
from contract.model import Contract


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a request is not admitted, before its parameters: what a server answers
    (`status`, with `allowed` methods for a 405), where a validator places it (`location`,
    as `Violation`s name places), and the statements it breaks."""

    status: int
    location: str
    message: str
    statements: tuple[str, ...] = ()
    allowed: tuple[str, ...] = ()

    def text(self) -> str:
        """The message with its statements, as an error body says it."""
        return f"{self.message} ({', '.join(self.statements)})" if self.statements \
            else self.message


@dataclass(slots=True)
class Verdict:
    """`match` is None when no operation serves the request (then `refusals` says why);
    otherwise `params` holds the generated checks' reading, and `refusals` the token and
    body rules it breaks, in the order a server meets them (token, then parameters, then
    the body)."""

    match: Match | None
    params: Parsed | None = None
    refusals: list[Refusal] = field(default_factory=list)
    unrouted: NoMatch | None = None  # why no operation serves it (when `match` is None)

    @property
    def token(self) -> Refusal | None:
        return next((r for r in self.refusals if r.status == 401), None) \
            if self.refusals else None

    @property
    def body(self) -> Refusal | None:
        return next((r for r in self.refusals if r.location == "request.body"), None) \
            if self.refusals else None


def admit(router: Router, request: Incoming, contract: Contract) -> Verdict:
    """The verdict on `request` (its `path_params` are filled in when it is routed)."""
    matched = router.match(request)
    if isinstance(matched, NoMatch):
        return Verdict(None, refusals=[_unrouted(request, matched, contract)],
                       unrouted=matched)
    request.path_params = matched.path_params
    verdict = Verdict(matched)
    token = request.header(contract.token_header)
    if token is None or not token.strip():
        state = "missing; every operation requires it" if token is None else "empty"
        verdict.refusals.append(Refusal(401, f"request.header.{contract.token_header}",
                                        f"the {contract.token_header} header is {state}",
                                        contract.token_statements))
    operation = matched.operation
    verdict.params = parsed = operation.check(request)
    if operation.id == contract.purge.operation and not parsed.problems:
        parsed.problems += purge_rules.purge_problems(contract.purge, parsed.query)
    if request.body and not operation.takes_body:
        verdict.refusals.append(Refusal(
            400, "request.body", f"{operation.id} takes no request body, got "
            f"{len(request.body)} bytes", operation.statements))
    return verdict


def _unrouted(request: Incoming, verdict: NoMatch, contract: Contract) -> Refusal:
    if verdict.allowed:
        methods = ", ".join(verdict.allowed)
        return Refusal(405, "request.method", f"{request.method} is not an operation of "
                       f"{request.path} (allowed: {methods})", allowed=verdict.allowed)
    if verdict.header:
        return Refusal(400, "request.path", f"{request.path} has no project id: put it in the "
                       f"URI or send the {verdict.header} header",
                       contract.alternative_header_statements)
    return Refusal(404, "request.path", f"no operation of the API matches {request.method} "
                   f"{request.path}")
