"""The generated request checks agree with openapi-core, the oracle: same accept/reject
verdict, same defaults applied, on thousands of generated requests (valid and invalid)."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contract.conform.target import SERVICE_BODY
from contract.mock.messages import Incoming
from contract.mock.serve import create_app
from contract.mock.settings import MockSettings
from contract.validation.messages import HttpRequest
from contract.validation.validator import validator_for

SERVICE = "96737ae3-cfc1-4c72-be88-5d0e7cc9a3f0"
PATHS = [
    ("GET", "/v1.0/{p}/"), ("GET", "/v1.0/{p}"), ("GET", "/v1.0/{p}/ping"),
    ("GET", "/v1.0/{p}/services"), ("POST", "/v1.0/{p}/services"),
    ("GET", "/v1.0/{p}/services/{s}"), ("PATCH", "/v1.0/{p}/services/{s}"),
    ("DELETE", "/v1.0/{p}/services/{s}"), ("GET", "/v1.0/{p}/services/{s}/assets"),
    ("DELETE", "/v1.0/{p}/services/{s}/assets"), ("GET", "/v1.0/{p}/services/{s}/analytics"),
    ("GET", "/v1.0/{p}/flavors"), ("GET", "/v1.0/{p}/flavors/{s}"),
    ("PUT", "/v1.0/{p}/services/{s}"), ("DELETE", "/v1.0/services/{s}/assets"),
]
# Values chosen at the edges of the rules both sides implement.
TEXT = st.sampled_from(["true", "false", "True", "FALSE", "yes", "no", "1", "0", "", "maybe",
                        "/images/logo.png", "/images/*", "5", "20", "21", "0", "-1", " 7",
                        "+3", "1.0", "1e1", "٣", "1_0", "é", SERVICE, SERVICE.upper()])
SERVICE_IDS = st.sampled_from([SERVICE, SERVICE.upper(), SERVICE.replace("-", ""), "abc",
                               "{" + SERVICE + "}", "urn:uuid:" + SERVICE])
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 400) | st.floats(allow_nan=False)
    | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner,
                                                                max_size=3), max_leaves=8)


@st.composite
def service_bodies(draw: st.DrawFn) -> object:
    """A valid service with one member replaced, removed or added; or any JSON at all."""
    body = json.loads(json.dumps(SERVICE_BODY))
    choice = draw(st.integers(0, 5))
    key = draw(st.sampled_from([*SERVICE_BODY, "caching", "restrictions"]))
    if choice == 0:
        body.pop(key, None)
    elif choice == 1:
        body[key] = draw(JSON_VALUES)
    elif choice == 2:
        body["domains"] = [{"domain": draw(st.text(min_size=0, max_size=6)),
                            "protocol": draw(st.sampled_from(["http", "https", 3]))}] * \
            draw(st.integers(0, 12))
    elif choice == 3:
        body["origins"][0][draw(st.sampled_from(["port", "ssl", "rules", "origin"]))] = \
            draw(JSON_VALUES)
    elif choice == 4:
        return draw(JSON_VALUES)
    return body


@st.composite
def requests(draw: st.DrawFn) -> HttpRequest:
    method, template = draw(st.sampled_from(PATHS))
    path = template.format(p=draw(st.sampled_from(["110011", "p", "services"])),
                           s=draw(SERVICE_IDS))
    names = draw(st.lists(st.sampled_from(["url", "hard", "all", "limit", "marker", "x"]),
                          max_size=4))
    query = "&".join(f"{name}={draw(TEXT)}" for name in names)
    headers = []
    token = draw(st.sampled_from(["tok", "", None]))
    if token is not None:
        headers.append(("X-Auth-Token", token))
    if draw(st.booleans()):
        headers.append(("X-Project-Id", "110011"))
    body = b""
    if draw(st.integers(0, 3)) > 0 and method in ("POST", "PATCH", "DELETE"):
        value = draw(service_bodies()) if method == "POST" else draw(JSON_VALUES)
        if method == "PATCH" and draw(st.booleans()):
            value = [{"op": "replace", "path": "/name", "value": draw(JSON_VALUES)}]
        body = json.dumps(value).encode()
        headers.append(("Content-Type", draw(st.sampled_from(
            ["application/json", "application/json-patch+json", "text/plain",
             "application/json; charset=utf-8"]))))
    return HttpRequest(method, path + (f"?{query}" if query else ""), tuple(headers), body)


def incoming(request: HttpRequest) -> Incoming:
    return Incoming(request.method, request.path, request.query,
                    {k.lower(): v for k, v in reversed(request.headers)}, request.body)


@pytest.mark.parametrize("variant", ["2015-08", "2016-08"])
def test_generated_checks_agree_with_openapi_core(shared_reference, variant):
    app = create_app(variant, MockSettings(rate_limit=False))
    oracle = validator_for(variant)
    seen = {"accepted": 0, "refused": 0}

    @settings(max_examples=1500, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(requests())
    def agree(request: HttpRequest) -> None:
        report = oracle.validate_request(request)
        admission = app.admit(incoming(request))
        ours = admission.refusal is None
        theirs = not report.violations
        assert ours == theirs, (request, admission.refusal and admission.refusal.body,
                                report.violations)
        if ours:
            assert admission.params is not None
            assert admission.params.defaults == report.defaults, request
        seen["accepted" if ours else "refused"] += 1

    agree()
    # Both verdicts occur often enough for the agreement to mean something.
    assert seen["accepted"] > 200 and seen["refused"] > 200, seen
