"""Property-based cases for every operation, from schemathesis (its Python API).

Positive and negative cases per operation with schemathesis' own checks. Each distinct
failure is kept with schemathesis' own explanation and its curl reproduction.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import signal
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, cast
from urllib.parse import quote, urlsplit

import httpx
import hypothesis
import hypothesis.strategies
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.configuration import set_hypothesis_home_dir
from requests.structures import CaseInsensitiveDict
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.core.result import Err
from schemathesis.openapi.checks import AuthScenario, IgnoredAuth
from schemathesis.schemas import APIOperation
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.specs.openapi.schemas import OpenApiSchema
from schemathesis.transport import BaseTransport
from schemathesis.transport.requests import REQUESTS_TRANSPORT, RequestsTransport

from contract.conform.gate import Bounds, Breach, Gate, GatedSession
from contract.conform.outcome import SPEC, Outcome, Status, curl, gist, steady
from contract.conform.target import Target, created_id
from contract.errors import InputError
from contract.model import read_contract

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance, negative_data_rejection]
# Whether a token is invalid can only be known when the user gave a valid one.
AUTH_CHECKS = [ignored_auth]
# A valid case refused: where the target is stricter than the spec. Said, never failed.
POSITIVE_CHECKS = [positive_data_acceptance]
STRICTER = "ST202"  # its code
# A refusal may come from the limits (413/414) or the rate limit (429) before validation.
_FRAMING = {"content-length", "transfer-encoding", "host", "connection"}
REJECTIONS = ["400", "401", "403", "404", "405", "406", "413", "414", "415", "422", "429"]


@dataclass(frozen=True)
class Finding:
    operation: str
    mode: str
    message: str
    curl: str
    code: str = ""  # schemathesis' failure code (ST101 a 5xx, ST108 a body schema, ...)
    status: int = 0  # the status of the response it is about (0: no response)
    source: str = "schemathesis"  # or "cdn-contract": a fact of the spec our checks saw broken
    exchange: httpx.Response | None = None  # the answer it is about, its request included

    def outcome(self, statement: str, status: Status) -> Outcome:
        """The finding as an outcome of `statement`, its cause the failure's kind."""
        headline = self.message.splitlines()[0] if self.message else self.code
        if self.source != "schemathesis":  # one of our checks' outcomes: as it was
            return Outcome(statement, status, self.message, self.operation, self.curl,
                           self.exchange)
        return Outcome(statement, status, f"schemathesis: {self.operation} ({self.mode}): "
                       f"{headline}", self.code, self.curl, self.exchange,
                       f"schemathesis {self.code}: {steady(headline)} ← "
                       + (gist(self.exchange) if self.exchange is not None else
                          str(self.status)))


@dataclass(frozen=True)
class FuzzSettings:
    max_examples: int = 15
    seed: int | None = None
    workers: int = 1
    record: bool = False  # keep every exchange (for --har)


DROPPED = "dropped"  # the code of a finding where the target closed without answering
BOUND = "bound"  # the code of a finding where the answer passed one of conform's bounds
SERVER_ERRORS = ("ST101", "ST102", DROPPED)  # S36: bad input never gets a 5xx
ERROR_BODY = ("ST104", "ST105", "ST106", "ST108", "ST110")  # a 4xx's body or media (S16)
RETRY_AFTER = ("ST107", "ST108")  # a 429's header (S24, S35)


def group_findings(findings: list[Finding], failing: set[str], statements: set[str]
                   ) -> tuple[list[Outcome], list[Finding]]:
    """Findings that restate a statement become one outcome of that statement, with a count:
    a 5xx (or a dropped connection) is S36's; a 4xx whose body or media type is off repeats
    S16 once our check failed it; a 429's header repeats S24/S35 likewise. The rest stay
    findings."""
    claims: dict[str, list[Finding]] = {}
    rest = []
    for finding in findings:
        statement = None
        if finding.code in SERVER_ERRORS:
            statement = "S36"
        elif finding.status == 429 and finding.code in RETRY_AFTER:
            statement = next((s for s in ("S35", "S24") if s in failing), None)
        elif 400 <= finding.status < 500 and finding.code in ERROR_BODY and "S16" in failing:
            statement = "S16"
        if statement is not None and statement in statements:
            claims.setdefault(statement, []).append(finding)
        else:
            rest.append(finding)
    grouped = [finding.outcome(statement, Status.FAIL)
               for statement, found in claims.items() for finding in found]
    return grouped, rest


def stricter(findings: list[Finding]) -> tuple[list[Outcome], list[Finding]]:
    """Valid cases the target refused (schemathesis' positive-data acceptance): where the
    target is stricter than the contract, as informational rows; the other findings."""
    said = [replace(f.outcome(SPEC, Status.INFO), message=f"the target refuses a request "
                    f"the contract accepts: {f.operation} answered {f.status}")
            for f in findings if f.code == STRICTER]
    return said, [f for f in findings if f.code != STRICTER]


@dataclass(frozen=True)
class Fuzzed:
    """What the cases of one job (or of them all) did."""

    cases: int = 0
    findings: tuple[Finding, ...] = ()
    # services the positive createService cases made (project as its path segment, id), each
    # deleted again at once; the run's cleanup sees them gone
    created: tuple[tuple[str, str], ...] = ()
    exchanges: tuple[httpx.Response, ...] = ()  # every one, when FuzzSettings.record

    def __add__(self, other: Fuzzed) -> Fuzzed:
        return Fuzzed(self.cases + other.cases, self.findings + other.findings,
                      self.created + other.created, self.exchanges + other.exchanges)


def fuzz(document: dict[str, Any], target: Target, options: FuzzSettings,
         progress: Callable[[str], None],
         record: Callable[[httpx.Response], None] | None = None) -> Fuzzed:
    """The cases sent and findings for every operation, positive and negative. With
    several workers, operations run in separate processes: hypothesis is not safe across
    threads. A target that stops answering is bad input (InputError). With
    `options.record`, each operation's exchanges go to `record` as it ends (a run's
    traffic is not held whole)."""
    identity = target.identity
    base_url = target.base_url
    text = json.dumps(document)  # once: the jobs' cache key, and what each process loads
    labels = [one.label for one in _operations(_schema(text, base_url, identity.project_id))]
    header = read_contract(document).token_header
    jobs = [_Job(text, base_url, header, identity.token,
                 identity.token_known, tuple(identity.headers.items()), identity.project_id,
                 tuple(identity.secrets().items()), options, label, mode, target.bounds)
            for label in labels for mode in ("positive", "negative")]
    with _storage():
        _unicode_tables()
        return _jobs(jobs, options, progress, record or (lambda _: None))


def _unicode_tables() -> None:
    """Hypothesis builds its table of what UTF-8 encodes (schemathesis' codec) on first use,
    a second or more, and keeps it for the process: built here, before the workers fork,
    they inherit it instead of each building it again (its file goes with the storage)."""
    hypothesis.strategies.characters(codec="utf-8").validate()


@contextmanager
def _storage() -> Iterator[None]:
    """Hypothesis' own files in cdn-contract's cache folder, unless the user names one
    (HYPOTHESIS_STORAGE_DIRECTORY): no `.hypothesis/` left in the working folder. What it
    keeps there it computes once instead of every run (its Unicode tables and the constants
    of the modules it reads: two seconds a run); no example database (`database=None`). A
    cache that cannot be written gives way to a temporary folder, removed after the run."""
    if os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY"):
        yield
        return
    with contextlib.ExitStack() as stack:
        folder = _cache_folder() or stack.enter_context(
            tempfile.TemporaryDirectory(prefix="cdn-contract-hypothesis-"))
        set_hypothesis_home_dir(str(folder))
        try:
            yield
        finally:
            set_hypothesis_home_dir(None)


def _cache_folder() -> Path | None:
    """$XDG_CACHE_HOME/cdn-contract/hypothesis (~/.cache/… by default), if it can be written."""
    try:
        root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
        folder = root / "cdn-contract" / "hypothesis"
        folder.mkdir(parents=True, exist_ok=True)
    except (OSError, RuntimeError):  # RuntimeError: no home folder to be found
        return None
    return folder if os.access(folder, os.W_OK | os.X_OK) else None


def _jobs(jobs: list[_Job], options: FuzzSettings, progress: Callable[[str], None],
          record: Callable[[httpx.Response], None]) -> Fuzzed:
    total = Fuzzed()

    def finished(job: _Job, done: Fuzzed) -> None:
        nonlocal total
        for exchange in done.exchanges:
            record(exchange)
        total += replace(done, exchanges=())
        _report(progress, job, done)

    if options.workers <= 1:
        for job in jobs:
            finished(job, _run(job))
        return total
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(options.workers, mp_context=context,
                             initializer=_killable) as pool:
        futures = {pool.submit(_run, job): job for job in jobs}
        try:
            for future in as_completed(futures):
                finished(futures[future], future.result())
        except BaseException:  # an interrupt: the jobs left are not waited for
            _abandon(pool)
            raise
    return total


def _killable() -> None:
    """A worker ends on SIGTERM (a forked one inherits the run's handler, which unwinds
    the run to write its reports: the worker has none to write)."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _abandon(pool: ProcessPoolExecutor) -> None:
    """Cancel the jobs not begun and end the workers: a stopped run does not wait for
    the operations being fuzzed to finish."""
    workers = list((getattr(pool, "_processes", None) or {}).values())  # gone at shutdown
    pool.shutdown(wait=False, cancel_futures=True)
    for process in workers:
        process.terminate()


@dataclass(frozen=True)
class _Job:
    document: str  # JSON: picklable, and the cache key of the loaded schema
    base_url: str
    token_header: str
    token: str
    token_known: bool
    headers: tuple[tuple[str, str], ...]  # the user's, on every case
    project_id: str | None  # a real account's: every case uses it
    secrets: tuple[tuple[str, str], ...]  # value → the variable curl lines name instead
    options: FuzzSettings
    operation: str
    mode: str
    bounds: Bounds  # what is read of each answer


# -- schemathesis' requests, every one through the job's GatedSession ------------------------
GATED = "cdn_contract_gated_session"  # the transport argument that carries it to the checks


class _GatedTransport(RequestsTransport):
    """schemathesis' transport for `requests`, sending only through a `GatedSession`: the
    one a case is called with, or, for the requests a check sends of its own (ignored_auth's
    case without the token, then with an invalid one), the one in the transport arguments
    the case was validated with. schemathesis drops `session` from those before it sends
    (`specs/openapi/_auth_retry.py`, build_retry_transport_kwargs, then send_probe), and
    would open a session of its own: no origin check, no bound on what it reads. With no
    gated session, nothing is sent."""

    def __init__(self) -> None:
        super().__init__()
        self._copy_serializers_from(REQUESTS_TRANSPORT)  # as its ASGI and WSGI ones do

    def send(self, case: schemathesis.Case[Any], *, session: requests.Session | None = None,
             **kwargs: Any) -> schemathesis.Response:
        carried = kwargs.pop(GATED, None)
        gated = session if isinstance(session, GatedSession) else carried
        if not isinstance(gated, GatedSession):
            raise RuntimeError(f"{case.method} {case.path}: schemathesis sends a request "
                               "without conform's gate (a bug of cdn-contract)")
        return super().send(case, session=gated, **kwargs)


_GATED_TRANSPORT = _GatedTransport()


class _GatedSchema(OpenApiSchema):
    """The schema as schemathesis loads it, whose transport (what `case.call` and the checks'
    own requests send with) is the gated one."""

    @property
    def transport(self) -> BaseTransport[Any]:
        return _GATED_TRANSPORT


@lru_cache(maxsize=4)
def _schema(document: str, base_url: str, project_id: str | None) -> _GatedSchema:
    settings: dict[str, Any] = {
        "checks": {"negative_data_rejection": {"expected-statuses": REJECTIONS}},
        "output": {"sanitization": {"enabled": False}}}  # curl must reproduce
    if project_id is not None:  # never an invented project on a real account
        settings["parameters"] = {"path.project_id": project_id}
    config = schemathesis.Config.from_dict(settings)
    schema = schemathesis.openapi.from_dict({**json.loads(document),
                                             "servers": [{"url": base_url}]}, config=config)
    schema.__class__ = _GatedSchema  # loaded as schemathesis loads it; sent through the gate
    return cast(_GatedSchema, schema)


def _operations(schema: _GatedSchema) -> list[APIOperation[Any, Any, Any, Any]]:
    """The schema's operations (ours all load: one that does not is a bug, raised)."""
    found = []
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            raise result.err()
        found.append(result.ok())
    return found


def _run(job: _Job) -> Fuzzed:
    schema = _schema(job.document, job.base_url, job.project_id)
    operation = next(one for one in _operations(schema) if one.label == job.operation)
    mode = GenerationMode.POSITIVE if job.mode == "positive" else GenerationMode.NEGATIVE
    # Negative cases may mean to send a bad token, and ours replaces it: only positive ones
    # tell whether the target refuses an invalid token.
    checks = CHECKS + (POSITIVE_CHECKS + (AUTH_CHECKS if job.token_known else [])
                       if job.mode == "positive" else [])
    found: dict[str, Finding] = {}
    sent = 0
    created: list[tuple[str, str]] = []
    exchanges: list[httpx.Response] = []
    fixed = {**dict(job.headers), job.token_header: job.token}
    session = GatedSession(Gate(job.base_url, job.bounds))  # every request of this job

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=job.options.max_examples, deadline=None, database=None,
              phases=[Phase.generate], suppress_health_check=list(HealthCheck),
              derandomize=job.options.seed is None)
    def exercise(case: schemathesis.Case[Any]) -> None:
        nonlocal sent
        # Framing headers belong to the HTTP client: a generated `Content-Length: nil` is
        # refused by the HTTP server itself, before any implementation sees the request.
        case.headers = CaseInsensitiveDict({
            **{k: v for k, v in (case.headers or {}).items() if k.lower() not in _FRAMING},
            **fixed})
        if job.project_id is not None and case.path_parameters is not None:
            case.path_parameters["project_id"] = job.project_id
        prepared = _prepared(case, job)
        if job.project_id is not None and not _in_project(prepared, job.project_id):
            return  # a real account's: no case may name another project, however generated
        curl = _curl(prepared, job)
        try:
            response = case.call(base_url=job.base_url, session=session)
        except (Breach, requests.RequestException) as error:
            found.setdefault(*_not_answered(job, session, error, curl))
            return
        sent += 1
        answer = _answer(prepared, response)
        if job.options.record:
            exchanges.append(answer)
        made = _remove_created(job, case, response, session)
        if made is not None:
            created.append(made)
        try:  # the checks' own requests (ignored_auth's) take the gated session too
            case.validate_response(response, checks=checks, transport_kwargs={GATED: session})
        except (Breach, requests.RequestException) as error:  # one of those got no answer
            found.setdefault(*_not_answered(job, session, error, _sent_curl(error, job, curl)))
        except (Failure, FailureGroup) as failure:  # schemathesis' findings
            failures = list(failure.exceptions) if isinstance(failure, FailureGroup) \
                else [failure]
            for one in failures:
                _found(one, _Sent(job, session, prepared, answer, curl), found)

    test = hypothesis.seed(job.options.seed)(exercise) if job.options.seed is not None \
        else exercise
    with session:
        test()
    return Fuzzed(sent, tuple(found.values()), tuple(created), tuple(exchanges))


@dataclass(frozen=True)
class _Sent:
    """A case as it was sent and answered, and the job's session (to send it again)."""

    job: _Job
    session: requests.Session
    prepared: requests.PreparedRequest
    answer: httpx.Response
    curl: str


def _found(failure: Failure, sent: _Sent, found: dict[str, Finding]) -> None:
    """One of schemathesis' failures as a finding, once per kind: an ignored token quotes
    the request without it, sent again (that one passing a bound is a finding too, and the
    failure then quotes the case)."""
    text = str(failure).strip()
    key = text.split("\n\n")[0] + text.split("Received:")[-1][:20]
    if key in found:
        return
    shown, curl = sent.answer, sent.curl
    if isinstance(failure, IgnoredAuth):
        try:
            shown = _without_auth(sent.prepared, sent.job, failure.scenario, sent.session)
            curl = _curl(shown.request, sent.job)
        except (Breach, requests.RequestException) as error:
            found.setdefault(*_not_answered(sent.job, sent.session, error,
                                            _sent_curl(error, sent.job, curl)))
    found[key] = Finding(sent.job.operation, sent.job.mode, text, curl,
                         getattr(failure, "code", ""), shown.status_code, exchange=shown)


def _answer(prepared: requests.PreparedRequest,
            response: requests.Response | schemathesis.Response) -> httpx.Response:
    """A case's exchange as the suite keeps every exchange (httpx: picklable, and what
    the reports quote and --har writes)."""
    body = prepared.body.encode() if isinstance(prepared.body, str) else prepared.body
    request = httpx.Request(str(prepared.method), str(prepared.url),
                            headers=[(k, str(v)) for k, v in prepared.headers.items()],
                            content=body if isinstance(body, bytes) else b"")
    items = [(k, value) for k, values in response.headers.items()
             for value in (values if isinstance(values, list) else [values])]
    # the body is decoded; a value is bytes as they came (http.client read them as
    # latin-1: an obs-text byte such as 0xc2 is no ASCII, and httpx encodes str as ASCII)
    headers = [(k.encode("latin-1"), v.encode("latin-1", "replace")) for k, v in items
               if k.lower() not in ("content-encoding", "transfer-encoding")]
    return httpx.Response(response.status_code, headers=headers, content=response.content,
                          request=request, extensions={"started": datetime.now(UTC)})


def _without_auth(prepared: requests.PreparedRequest, job: _Job, scenario: AuthScenario,
                  session: requests.Session) -> httpx.Response:
    """The request schemathesis' ignored_auth judged (the case without the token, or with
    an invalid one), sent again: its finding quotes that one, not the case it came from."""
    again = prepared.copy()
    again.headers.pop(job.token_header, None)
    if scenario != AuthScenario.NO_AUTH:
        again.headers[job.token_header] = "invalid-token"
    return _answer(again, session.send(again))


def _not_answered(job: _Job, session: requests.Session, error: Breach | requests.RequestException,
                  curl: str) -> tuple[str, Finding]:
    """A request of the job (a case, or a check's own) that left nothing to judge, as a
    finding and the key that keeps one per operation: an answer past a bound (or a URL off
    the origin), or a connection closed unanswered. InputError when the target is gone."""
    if isinstance(error, Breach):
        return f"bound {job.operation} {error.bound}", Finding(
            job.operation, job.mode, f"the target broke conform's bound ({error.bound}): "
            f"{error}", curl, BOUND)
    _still_there(job, session)
    return f"dropped {job.operation}", Finding(
        job.operation, job.mode, f"the target closed the connection without answering "
        f"({type(error).__name__})", curl, DROPPED)


def _sent_curl(error: Breach | requests.RequestException, job: _Job, otherwise: str) -> str:
    """The curl line of the request `error` is about (a check's own: the case without its
    token), when it names one."""
    if isinstance(error, requests.RequestException):
        sent = error.request
        return _curl(sent, job) if isinstance(sent, requests.PreparedRequest) else otherwise
    try:
        return _curl(error.request, job)
    except RuntimeError:  # httpx: a Breach before any request (a URL off the origin)
        return otherwise


def _still_there(job: _Job, session: requests.Session) -> None:
    """InputError when the target no longer answers at all (it went away mid-run)."""
    try:
        session.get(job.base_url + "/")
    except (requests.RequestException, Breach) as error:
        raise InputError(f"--base-url {job.base_url} stopped answering during the run "
                         f"({type(error).__name__})") from None


def _remove_created(job: _Job, case: schemathesis.Case[Any], response: Any,
                    session: requests.Session) -> tuple[str, str] | None:
    """A createService case that made a real service: delete it at once, so that the run
    leaves nothing behind in the account (the cleanup sees it gone, or deletes it again).
    Its project (as the path names it) and id; None when it made none."""
    headers = {name.lower(): value for name, value in response.headers.items()}
    location = headers.get("location")
    service = created_id(response.status_code, location[0] if isinstance(location, list)
                         else location)
    if service is None or case.method.upper() != "POST":
        return None
    # schemathesis percent-encodes path parameters itself: keep its escapes
    project = quote(str((case.path_parameters or {}).get("project_id", "")), safe="%")
    service = quote(service, safe="")
    with contextlib.suppress(requests.RequestException, Breach):  # the run's cleanup retries
        session.delete(f"{job.base_url}/v1.0/{project}/services/{service}",
                       headers={**dict(job.headers), job.token_header: job.token})
    return project, service


_REQUEST_ARGUMENTS = ("method", "url", "headers", "params", "data", "json", "cookies")


def _prepared(case: schemathesis.Case[Any], job: _Job) -> requests.PreparedRequest:
    """The request schemathesis sends for `case`, prepared as `requests` prepares it."""
    arguments = case.as_transport_kwargs(base_url=job.base_url)
    return requests.Request(**{k: v for k, v in arguments.items()
                               if k in _REQUEST_ARGUMENTS}).prepare()


def _in_project(prepared: requests.PreparedRequest, project_id: str) -> bool:
    """Whether the request names `project_id` and no other, in its path and its header."""
    path = urlsplit(str(prepared.url)).path
    named = {value for name, value in prepared.headers.items() if name.lower() == "x-project-id"}
    return path.startswith(f"/v1.0/{quote(project_id, safe='')}/") and named <= {project_id}


def _curl(prepared: requests.PreparedRequest | httpx.Request, job: _Job) -> str:
    """A prepared case as the suite's own curl line (secrets as their variables or
    masked); the reports write it again from the exchange, long bodies as files."""
    if isinstance(prepared, httpx.Request):
        return curl(prepared, dict(job.secrets))
    body = prepared.body.encode() if isinstance(prepared.body, str) else prepared.body
    headers = [(name, str(value)) for name, value in prepared.headers.items()]
    return curl(httpx.Request(str(prepared.method), str(prepared.url), headers=headers,
                              content=body if isinstance(body, bytes) else b""),
                dict(job.secrets))


def _report(progress: Callable[[str], None], job: _Job, done: Fuzzed) -> None:
    progress(f"  {job.operation} ({job.mode}): {done.cases} cases, {len(done.findings)} "
             "finding(s)")
