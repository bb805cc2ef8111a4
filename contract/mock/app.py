"""The mock as an ASGI application: the pipeline every request goes through.

    limits (414, 413) → /__mock__ and /docs → route (404, 405) → auth (401, S10)
    → Prefer → injected faults → generated check (400, S16/S17) → no body where none is
    documented (400, S4) → the operation's handler

`admit` is the part up to the handler, with no I/O: the verdict of
`contract.checks.admission`, which the compiled validator reports from too (and the oracle
test holds to openapi-core's on thousands of exchanges), answered by its first refusal.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from dataclasses import dataclass, replace

from contract.checks.admission import Refusal, Verdict, admit
from contract.checks.messages import (
    Incoming,
    NotUtf8,
    Outgoing,
    decode_path,
    error_response,
    parse_query,
)
from contract.checks.params import Parsed
from contract.checks.routing import Match, NoMatch, Router
from contract.http.asgi import Receive, Scope, Send, read_body, run_lifespan
from contract.mock import behaviours, faults
from contract.mock.api import controls, docs, introspection
from contract.mock.api.handlers import handlers_for, service_operation
from contract.mock.journal import Served
from contract.mock.runtime import Call, ContractFacts, Runtime
from contract.mock.settings import MockSettings
from contract.mock.state.store import StoreFailure, StoreRefused, StoreUnavailable

log = logging.getLogger("cdn_contract.mock")
API_PREFIX = "/v1.0/"  # every API path; /__mock__ and /docs are not the API
NO_FREEDOMS: frozenset[str] = frozenset()  # what a request takes without --behave


@dataclass(slots=True)
class Admission:
    """A request the API accepts (no `refusal`) or refuses (`refusal` is the answer)."""

    match: Match | None = None
    params: Parsed | None = None
    refusal: Outgoing | None = None
    unrouted: NoMatch | None = None  # the router's reason, when no operation serves it
    refused: bool = False  # `refusal` is the contract's (not one the user asked for)


def _refusal(verdict: Verdict, request: Incoming, changed: behaviours.PurgeAdmission
             ) -> Outgoing | None:
    """The answer refusing a routed, authorised request, if one does: its parameters'
    problems, a stricter check, its body, as the freedoms drawn change a purge's (`changed`,
    as documented for any other request)."""
    params = verdict.params
    if params is not None and params.problems and changed.waives:
        params.problems = [p for p in params.problems if p.statements not in changed.waives]
    if params is not None and params.problems:
        return error_response(400, *(problem.text() for problem in params.problems))
    strict = changed.refusal(request.query) if changed.refuse else None
    if strict:
        return error_response(400, strict)
    if verdict.body is not None and not changed.body_ignored:
        return _answer(verdict.body)
    return None


class MockApp:
    def __init__(self, router: Router, facts: ContractFacts, settings: MockSettings):
        self.router = router
        self.handlers = handlers_for(facts.contract, [op.id for op in router.operations])
        self.runtime = Runtime(facts, settings)
        self.runtime.service_operation = service_operation(self.handlers)
        self.runtime.operations = list(router.operations)
        self.settings = settings
        rates = {faults.UNAVAILABLE: settings.error_rate, **settings.faults}
        self.faults = faults.Faults(rates, settings.seed)
        self.contract = contract = facts.contract
        self.limits = contract.limits
        self.max_body = contract.limits.max_body_bytes  # read on every body chunk
        self.token_header = contract.token_header.lower()

    # -- the pipeline, without I/O -----------------------------------------------------------

    def admit(self, request: Incoming, behaves: frozenset[str] = NO_FREEDOMS) -> Admission:
        """The shared verdict (`contract.checks.admission`), answered by its first refusal,
        with the `--tokens` policy between the token rule and the parameters, and a purge's
        admission changed as the freedoms in `behaves` declare (`Freedom.purge`)."""
        verdict = admit(self.router, request, self.contract)
        match = verdict.match
        if match is None:
            return Admission(refusal=_answer(verdict.refusals[0]), unrouted=verdict.unrouted)
        missing = verdict.token
        if missing is not None:
            return Admission(match, refusal=_answer(missing))
        if self.settings.tokens is not None:
            refused = self._token_policy(request.header(self.token_header), match)
            if refused is not None:
                return Admission(match, refusal=refused)
        changed = behaviours.purge_admission(behaves) \
            if behaves and match.operation.id == self.contract.purge.operation \
            else behaviours.AS_DOCUMENTED
        return Admission(match, verdict.params, _refusal(verdict, request, changed))

    def _token_policy(self, token: str | None, match: Match) -> Outgoing | None:
        """`--tokens`: a token it does not list, or one scoped to another project → 401."""
        header = self.contract.token_header
        if not self.accepts(token):
            return error_response(401, f"the {header} is not valid (S10)")
        scopes = self.settings.token_projects  # empty unless --tokens TOKEN=PROJECT
        scope = scopes.get((token or "").strip()) if scopes else None
        project = match.path_params.get("project_id")
        if scope is not None and project != scope:
            return error_response(401, f"the {header} is not valid for project {project} "
                                  "(S10)")
        return None

    def accepts(self, token: str | None, every_project: bool = False) -> bool:
        """Whether `token` is one --tokens accepts (any, without --tokens); with
        `every_project`, one not scoped to a single project (what /__mock__ needs: a reset
        empties every project). A field value's surrounding white space is not part of it
        (RFC 9110 §5.5)."""
        if self.settings.tokens is None:
            return True
        value = (token or "").strip()
        return value in self.settings.tokens and not (
            every_project and value in self.settings.token_projects)

    def locate_project(self, request: Incoming, unrouted: NoMatch | None
                       ) -> Incoming | None:
        """S40: the `Location` the API answers with (`/v1.0/services/{id}`, no project, as
        the docs show it) reads back with the same token. A request with the project in
        neither the URI nor `X-Project-Id` is taken as sent to the project its token is
        bound to (--tokens TOKEN=PROJECT), else to the project holding its service id; None
        when neither names one (the refusal stands: 400 naming X-Project-Id). `unrouted`
        is why the router found no operation (its admission routed it already)."""
        if unrouted is None or unrouted.header is None:
            return None
        token = (request.header(self.token_header) or "").strip()
        project = self.settings.token_projects.get(token)
        service = unrouted.path_params.get("service_id")
        if project is None and service and token and self.accepts(token):
            project = self.runtime.store.project_of(service)
        if project is None:
            return None
        return replace(request, headers={**request.headers, unrouted.header.lower(): project})

    def respond(self, request: Incoming, behaves: frozenset[str] = NO_FREEDOMS,
                served: Served | None = None) -> Outgoing:
        """The answer to `request`; `served` (an API request's record) takes its match, and
        whether the contract refused it."""
        if request.path.startswith(introspection.PREFIX):
            if not introspection.is_open(request) and \
                    not self.accepts(request.header(self.token_header), every_project=True):
                return error_response(401, f"with --tokens, {request.path} takes a valid "
                                      f"{self.facts.contract.token_header} not scoped to one "
                                      "project")
            return introspection.answer(request, self.runtime)
        if request.path == docs.PREFIX or request.path.startswith(docs.PREFIX + "/"):
            return docs.answer(request, self.facts.contract.variant)
        if request.path == docs.ROOT and request.method in ("GET", "HEAD"):
            return docs.points_to_docs(request)
        if self.settings.cors and request.method == "OPTIONS":
            return controls.preflight(request)
        fault = served.fault if served is not None else ""
        admission = self.admit_with_controls(request, behaves, fault)
        if admission.match is None and \
                (located := self.locate_project(request, admission.unrouted)) is not None:
            admission = self.admit_with_controls(located, behaves, fault)
        if served is not None:
            served.match, served.refused = admission.match, admission.refused
        if admission.refusal is not None:
            return admission.refusal
        assert admission.match is not None and admission.params is not None
        project = admission.match.path_params["project_id"]
        call = Call(request, admission.params, project, self.runtime, behaves)
        return self.handlers[admission.match.operation.id](call)

    def admit_with_controls(self, request: Incoming, behaves: frozenset[str] = NO_FREEDOMS,
                            fault: str = "") -> Admission:
        """`admit`, then what the user asked of the mock: `Prefer` or a 503 fault (an
        unknown fault is a 400). Neither bypasses authentication."""
        admission = self.admit(request, behaves)
        admission.refused = admission.refusal is not None
        if admission.match is None or (admission.refusal is not None
                                       and admission.refusal.status == 401):
            return admission
        forced = faults.Faults.refusal(fault) if fault else None
        forced = forced or (controls.preferred(request, admission.match, self.runtime)
                            if "prefer" in request.headers else None)
        return Admission(admission.match, admission.params, forced) if forced else admission

    # -- what every transport does around `respond` -------------------------------------------

    def answer(self, request: Incoming) -> Outgoing:
        """`respond`, never raising, with the CORS headers when they are on, the
        freedoms this request draws (--behave) taken, the fault it asks or draws, and an API
        request journaled and counted for coverage."""
        api = request.path.startswith(API_PREFIX)
        behaves = self.behaves(request) if api else NO_FREEDOMS
        served = Served(request, behaves, self.faults.for_request(request), time.time()) \
            if api else None
        response = self._answer(request, behaves, served)
        if served is not None:
            served.response = response
            if served.fault and served.fault not in faults.NAMES:
                served.fault = ""  # an unknown one asked: refused with 400 (kept as no fault)
            if served.fault in faults.NETWORK:
                response = faults.broken(response, served.fault)
            if self.runtime.journal is not None:
                self.runtime.journal.add(served)
            self.runtime.coverage.count(served)
        return response

    def _answer(self, request: Incoming, behaves: frozenset[str], served: Served | None
                ) -> Outgoing:
        try:
            response = self.respond(request, behaves, served)
        except StoreUnavailable as error:
            response = unavailable(error)
        except StoreRefused as error:  # the input, not the database, is at fault
            response = error_response(400, f"the mock's database cannot hold a value of this "
                                      f"request ({error}); nothing of it was kept")
        except StoreFailure as error:  # this request's write failed alone
            log.error("a write failed: %s", error)
            response = not_stored(error)
        except Exception:  # a bug of the mock, never of the input: say so, keep serving
            log.exception("mock failure on %s %s", request.method, request.path)
            response = error_response(500, "the mock failed on this request; this is a bug in "
                                      "cdn-contract, please report it with the request")
        if self.settings.cors and request.header("origin"):
            response.headers += controls.cors_headers(request)
        if "error-extra-members" in behaves and response.status >= 400:
            response = behaviours.extra_members(response)
        return response

    def behaves(self, request: Incoming) -> frozenset[str]:
        """The freedoms an API request takes."""
        drawing = self.runtime.behaviours
        if not drawing.offered:
            return NO_FREEDOMS  # the request path pays nothing without --behave
        return drawing.for_request(f"{request.method} {request.path}")

    def delay(self, request: Incoming) -> float:
        """Seconds to hold the response back (--latency-ms; never on /__mock__)."""
        if self.settings.latency_ms and not request.path.startswith(introspection.PREFIX):
            return self.settings.latency_ms / 1000
        return 0.0

    def log(self, request: Incoming, response: Outgoing, started: float) -> None:
        """The access log line (method, path, status, ms) unless --quiet."""
        if not self.settings.quiet:
            elapsed = (time.perf_counter() - started) * 1000
            fault = f" fault={response.fault}" if isinstance(response, faults.Faulted) else ""
            print(f"{request.method} {request.path} {response.status} {elapsed:.1f}ms{fault}",
                  file=sys.stderr, flush=True)

    def commit(self) -> Outgoing | None:
        """Commit the writes of every request answered since the last call. A transport calls
        this before sending their responses; if it returns a 500, that is the answer to send
        instead of each of them, since what they acknowledge was not stored."""
        try:
            self.runtime.store.commit()
        except StoreUnavailable as error:
            log.error("commit failed: %s", error)
            return unavailable(error)
        except StoreFailure as error:
            log.error("commit failed: %s", error)
            return not_stored(error)
        return None

    def close(self) -> None:
        self.runtime.store.close()

    @property
    def facts(self) -> ContractFacts:
        return self.runtime.facts

    # -- the absolute limits, checked by transports before the request is whole (S19) --------

    def uri_too_long(self, length: int) -> str | None:
        """The 414's message for a request target of `length` characters, if it is over
        the limit."""
        if length > self.limits.max_uri_length:
            return (f"the request URI is longer than {self.limits.max_uri_length} characters "
                    f"({', '.join(self.limits.statements)})")
        return None

    def too_large(self) -> str:
        """The 413's message."""
        return (f"the request body is over the limit of {self.max_body} bytes "
                f"({', '.join(self.limits.statements)})")

    # -- ASGI, for embedding the mock in any ASGI server ---------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await run_lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        started = time.perf_counter()
        request, early = await self._read(scope, receive)
        response = early or self.answer(request)
        response = self.commit() or response
        delay = self.delay(request)
        if delay:
            await asyncio.sleep(delay)
        headers = [(k.lower().encode("latin-1"), v.encode("latin-1", "replace"))
                   for k, v in response.headers]
        headers.append((b"content-length", str(len(response.body)).encode()))
        await send({"type": "http.response.start", "status": response.status,
                    "headers": headers})
        await send({"type": "http.response.body", "body": response.body})
        self.log(request, response, started)

    async def _read(self, scope: Scope, receive: Receive
                    ) -> tuple[Incoming, Outgoing | None]:
        """The request, or with it the 413/414 that refuses it before its body is read."""
        raw_query = scope.get("query_string", b"").decode("latin-1")
        headers: dict[str, str] = {}
        for key, value in scope.get("headers", []):
            headers.setdefault(key.decode("latin-1").lower(), value.decode("latin-1"))
        host = headers.get("host") or "{}:{}".format(*(scope.get("server") or ("127.0.0.1", 80)))
        request = Incoming(method=scope["method"].upper(), path=scope["path"], headers=headers,
                           base_url=f"{scope.get('scheme', 'http')}://{host}")
        raw_path = scope.get("raw_path") or scope["path"].encode()
        too_long = self.uri_too_long(len(raw_path) + (len(raw_query) + 1 if raw_query else 0))
        if too_long:
            return request, error_response(414, too_long)
        try:  # the server's own decoding of the path may have replaced invalid UTF-8
            request.path = decode_path(raw_path.decode("latin-1"))
            request.query = parse_query(raw_query)
        except NotUtf8 as error:
            return request, error_response(400, str(error))
        declared = headers.get("content-length", "")
        body = None if declared.isdigit() and int(declared) > self.max_body \
            else await read_body(receive, self.max_body)
        if body is None:
            return request, error_response(413, self.too_large())
        request.body = body
        return request, None


def not_stored(error: StoreFailure) -> Outgoing:
    """500 when a write failed in the database itself (neither the input nor a lost
    connection): nothing of the request was kept."""
    return error_response(500, f"the mock could not store the request ({error}); nothing of "
                          "it was kept")


def unavailable(error: StoreUnavailable) -> Outgoing:
    """503 while the shared database cannot be reached: nothing of the request was kept,
    and it may be sent again (the store reconnects by itself)."""
    return error_response(503, f"the mock's database is unavailable ({error}); nothing of "
                          "this request was kept, retry it shortly",
                          headers=[("Retry-After", "1")])


def _answer(refusal: Refusal) -> Outgoing:
    """A refusal of the shared verdict as the mock sends it: the documented error body, and
    `Allow` on a 405."""
    headers = [("Allow", ", ".join(refusal.allowed))] if refusal.allowed else []
    return error_response(refusal.status, refusal.text(), headers=headers)

