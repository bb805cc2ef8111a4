"""Property-based cases for every operation, from schemathesis (its Python API).

Positive and negative cases per operation with schemathesis' own checks. Each distinct
failure is kept with schemathesis' own explanation and its curl reproduction.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import re
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import quote

import hypothesis
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from requests.structures import CaseInsensitiveDict
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from contract.conform.outcome import CURL_BODY, Outcome, Status
from contract.conform.target import Target
from contract.errors import InputError
from contract.model import read_contract

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance, negative_data_rejection]
# Whether a token is invalid can only be known when the user gave a valid one.
AUTH_CHECKS = [ignored_auth]
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


@dataclass(frozen=True)
class FuzzSettings:
    max_examples: int = 15
    seed: int | None = None
    workers: int = 1


DROPPED = "dropped"  # the code of a finding where the target closed without answering
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
    grouped = []
    for statement, found in claims.items():
        first = found[0]
        headline = first.message.splitlines()[0] if first.message else first.code
        grouped.append(Outcome(statement, Status.FAIL, f"schemathesis: {len(found)} "
                               f"finding(s) of this kind, e.g. {first.operation} "
                               f"({first.mode}): {headline}", "schemathesis", first.curl))
    return grouped, rest


def fuzz(document: dict[str, Any], target: Target, options: FuzzSettings,
         progress: Callable[[str], None]) -> tuple[int, list[Finding]]:
    """(cases sent, findings) for every operation, positive and negative. With several
    workers, operations run in separate processes: hypothesis is not safe across threads.
    A target that stops answering is bad input (InputError)."""
    identity = target.identity
    base_url = target.base_url
    labels = [result.ok().label for result in _schema(json.dumps(document), base_url,
                                                      identity.project_id)
              .get_all_operations()]
    header = read_contract(document).token_header
    jobs = [_Job(json.dumps(document), base_url, header, identity.token,
                 identity.token_known, tuple(identity.headers.items()), identity.project_id,
                 tuple(identity.secrets().items()), options, label, mode)
            for label in labels for mode in ("positive", "negative")]
    results: list[tuple[int, list[Finding]]] = []
    if options.workers <= 1:
        for job in jobs:
            results.append(_run(job))
            _report(progress, job, results[-1])
    else:
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(options.workers, mp_context=context) as pool:
            futures = {pool.submit(_run, job): job for job in jobs}
            for future in as_completed(futures):
                results.append(future.result())
                _report(progress, futures[future], results[-1])
    return sum(n for n, _ in results), [f for _, found in results for f in found]


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


@lru_cache(maxsize=4)
def _schema(document: str, base_url: str, project_id: str | None) -> Any:
    settings: dict[str, Any] = {
        "checks": {"negative_data_rejection": {"expected-statuses": REJECTIONS}},
        "output": {"sanitization": {"enabled": False}}}  # curl must reproduce
    if project_id is not None:  # never an invented project on a real account
        settings["parameters"] = {"path.project_id": project_id}
    config = schemathesis.Config.from_dict(settings)
    return schemathesis.openapi.from_dict({**json.loads(document),
                                           "servers": [{"url": base_url}]}, config=config)


def _run(job: _Job) -> tuple[int, list[Finding]]:
    schema = _schema(job.document, job.base_url, job.project_id)
    operation = next(r.ok() for r in schema.get_all_operations() if r.ok().label == job.operation)
    mode = GenerationMode.POSITIVE if job.mode == "positive" else GenerationMode.NEGATIVE
    # Negative cases may mean to send a bad token, and ours replaces it: only positive ones
    # tell whether the target refuses an invalid token.
    checks = CHECKS + (AUTH_CHECKS if job.token_known and job.mode == "positive" else [])
    found: dict[str, Finding] = {}
    sent = 0
    fixed = {**dict(job.headers), job.token_header: job.token}

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
        curl = _redacted(case.as_curl_command(base_url=job.base_url), job.secrets)
        try:
            response = case.call(base_url=job.base_url)
        except requests.RequestException as error:
            _still_there(job)  # gone: InputError; else the target dropped this request
            found.setdefault(f"dropped {operation.label}", Finding(
                operation.label, job.mode, f"the target closed the connection without "
                f"answering ({type(error).__name__})", curl, DROPPED))
            return
        sent += 1
        _remove_created(job, case, response)
        try:
            case.validate_response(response, checks=checks)
        except (Failure, FailureGroup) as failure:  # schemathesis' findings
            failures = list(failure.exceptions) if isinstance(failure, FailureGroup) \
                else [failure]
            for one in failures:
                text = str(one).strip()
                key = text.split("\n\n")[0] + text.split("Received:")[-1][:20]
                found.setdefault(key, Finding(operation.label, job.mode, text, curl,
                                              getattr(one, "code", ""),
                                              response.status_code))

    test = hypothesis.seed(job.options.seed)(exercise) if job.options.seed is not None \
        else exercise
    test()
    return sent, list(found.values())


def _still_there(job: _Job) -> None:
    """InputError when the target no longer answers at all (it went away mid-run)."""
    try:
        requests.get(job.base_url + "/", timeout=5)
    except requests.RequestException as error:
        raise InputError(f"--base-url {job.base_url} stopped answering during the run "
                         f"({type(error).__name__})") from None


def _remove_created(job: _Job, case: schemathesis.Case[Any], response: Any) -> None:
    """A positive createService case made a real service: delete it at once, so that the
    run leaves nothing behind in the account."""
    headers = {name.lower(): value for name, value in response.headers.items()}
    location = headers.get("location") or ""
    location = location[0] if isinstance(location, list) else str(location)
    if case.method.upper() != "POST" or response.status_code != 202 or not location or \
            not case.path.rstrip("/").endswith("/services"):
        return
    # schemathesis percent-encodes path parameters itself: keep its escapes
    project = quote(str((case.path_parameters or {}).get("project_id", "")), safe="%")
    service = location.rstrip("/").rsplit("/", 1)[-1]
    with contextlib.suppress(requests.RequestException):
        requests.delete(f"{job.base_url}/v1.0/{project}/services/{quote(service, safe='')}",
                        headers={**dict(job.headers), job.token_header: job.token},
                        timeout=10)


def _redacted(curl: str, secrets: tuple[tuple[str, str], ...]) -> str:
    """A curl line with secret header values shown as the variables holding them, and a
    body past CURL_BODY characters cut (with a note)."""
    for value, variable in secrets:
        curl = re.sub(rf"-H '([^':]+): {re.escape(value)}'", rf'-H "\1: {variable}"', curl)
    body = re.search(r"-d '((?:[^']|'\\'')*)'", curl)
    if body and len(body.group(1)) > CURL_BODY:
        curl = (curl[:body.start(1)] + body.group(1)[:CURL_BODY] + "…" + curl[body.end(1):]
                + f"  # body cut: {len(body.group(1))} characters in all")
    return curl


def _report(progress: Callable[[str], None], job: _Job,
            result: tuple[int, list[Finding]]) -> None:
    progress(f"  {job.operation} ({job.mode}): {result[0]} cases, {len(result[1])} finding(s)")
