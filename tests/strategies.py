"""Hypothesis strategies for exchanges at the edges of the contract's rules, shared by the
oracle tests (the generated checks against openapi-core)."""

from __future__ import annotations

import json

from hypothesis import strategies as st

from contract.conform.target import SERVICE_BODY
from contract.validation.messages import HttpRequest, HttpResponse

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


STATUSES = st.sampled_from([200, 202, 204, 400, 401, 404, 405, 413, 414, 429, 500, 503, 418])
HEADER_VALUES = st.sampled_from(["30", "0", "61", "-1", "soon", "", "1.5",
                                 f"https://cdn.example/v1.0/services/{SERVICE}"])


def documented_bodies(document: dict[str, object]) -> list[object]:
    """Every response example of a spec: valid bodies to start mutations from."""
    from contract.openapi import media_objects

    found = []
    for _, where, _, media in media_objects(document):  # type: ignore[arg-type]
        if where.startswith("response"):
            found += [example["value"] for example in (media.get("examples") or {}).values()
                      if "value" in example]
    found.append({"message": {"errors": [{"message": "not found"}]}})  # the Error shape
    return found


@st.composite
def responses(draw: st.DrawFn, bodies: list[object]) -> HttpResponse:
    """A status (documented or not), headers the contract names (valid, invalid, missing),
    and a body: a documented example, one mutated, any JSON, not JSON, or none."""
    headers: list[tuple[str, str]] = []
    for name in ("Location", "Retry-After"):
        if draw(st.booleans()):
            headers.append((name, draw(HEADER_VALUES)))
    body = b""
    choice = draw(st.integers(0, 5))
    if choice in (0, 1, 2):
        value = json.loads(json.dumps(draw(st.sampled_from(bodies))))
        if choice == 1 and isinstance(value, dict) and value:
            key = draw(st.sampled_from(sorted(value)))
            value[key] = draw(JSON_VALUES)
        elif choice == 2 and isinstance(value, dict) and value:
            value.pop(draw(st.sampled_from(sorted(value))))
        body = json.dumps(value).encode()
    elif choice == 3:
        body = json.dumps(draw(JSON_VALUES)).encode()
    elif choice == 4:
        body = draw(st.sampled_from([b"not json", b"{", b"  "]))
    if body.strip() and draw(st.integers(0, 4)):
        headers.append(("Content-Type", draw(st.sampled_from(
            ["application/json", "application/json; charset=utf-8", "application/json",
             "text/html"]))))
    return HttpResponse(draw(STATUSES), tuple(headers), body)
