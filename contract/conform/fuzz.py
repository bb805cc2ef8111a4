"""Property-based cases for every operation, from schemathesis (its Python API).

Positive and negative cases per operation with schemathesis' own checks. Each distinct
failure is kept with schemathesis' own explanation and its curl reproduction.
"""

from __future__ import annotations

import json
import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import hypothesis
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


@dataclass(frozen=True)
class FuzzSettings:
    max_examples: int = 15
    seed: int | None = None
    workers: int = 1


def fuzz(document: dict[str, Any], base_url: str, token: str, token_known: bool,
         options: FuzzSettings, progress: Callable[[str], None]) -> tuple[int, list[Finding]]:
    """(cases sent, findings) for every operation, positive and negative. With several
    workers, operations run in separate processes: hypothesis is not safe across threads."""
    labels = [result.ok().label for result in _schema(json.dumps(document), base_url)
              .get_all_operations()]
    header = read_contract(document).token_header
    jobs = [_Job(json.dumps(document), base_url, header, token, token_known, options, label,
                 mode)
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
    options: FuzzSettings
    operation: str
    mode: str


@lru_cache(maxsize=4)
def _schema(document: str, base_url: str) -> Any:
    config = schemathesis.Config.from_dict({
        "checks": {"negative_data_rejection": {"expected-statuses": REJECTIONS}},
        "output": {"sanitization": {"enabled": False}}})  # curl must reproduce, token too
    return schemathesis.openapi.from_dict({**json.loads(document),
                                           "servers": [{"url": base_url}]}, config=config)


def _run(job: _Job) -> tuple[int, list[Finding]]:
    schema = _schema(job.document, job.base_url)
    operation = next(r.ok() for r in schema.get_all_operations() if r.ok().label == job.operation)
    mode = GenerationMode.POSITIVE if job.mode == "positive" else GenerationMode.NEGATIVE
    # Negative cases may mean to send a bad token, and ours replaces it: only positive ones
    # tell whether the target refuses an invalid token.
    checks = CHECKS + (AUTH_CHECKS if job.token_known and job.mode == "positive" else [])
    found: dict[str, Finding] = {}
    sent = 0

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
            job.token_header: job.token})
        response = case.call(base_url=job.base_url)
        sent += 1
        try:
            case.validate_response(response, checks=checks)
        except (Failure, FailureGroup) as failure:  # schemathesis' findings
            text = str(failure).strip()
            key = text.split("\n\n")[0] + text.split("Received:")[-1][:20]
            found.setdefault(key, Finding(operation.label, job.mode, text,
                                          case.as_curl_command(base_url=job.base_url)))

    test = hypothesis.seed(job.options.seed)(exercise) if job.options.seed is not None \
        else exercise
    test()
    return sent, list(found.values())


def _report(progress: Callable[[str], None], job: _Job,
            result: tuple[int, list[Finding]]) -> None:
    progress(f"  {job.operation} ({job.mode}): {result[0]} cases, {len(result[1])} finding(s)")
