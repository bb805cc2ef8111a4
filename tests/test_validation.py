"""The validation library on the docs' own samples, and on samples altered to break S-rules."""

from __future__ import annotations

import dataclasses
import json

import pytest

from contract.validation import Exchange, HttpRequest, HttpResponse, validate_exchange
from tests.samples import sample_exchanges

SERVICE = "96737ae3-cfc1-4c72-be88-5d0e7cc9a3f0"
PURGE_URL = f"/v1.0/110011/services/{SERVICE}/assets"
TOKEN = (("X-Auth-Token", "0f6e9f63600142f0a970911583522217"),)
LOCATION = (("Location", f"https://global.cdn.api.rackspacecloud.com/v1.0/services/{SERVICE}"),)
# Samples that contradict the contract, as listed in spec/cdn-<variant>.discrepancies.md.
KNOWN_BAD = {
    "getCachedAsset": {
        ("request.path.service_id", "path parameter `service_id`: 'serviceName' is not a uuid"),
        ("request.query.url", "required query parameter `url` is missing"),
        ("response.body", "not valid JSON: Expecting value: line 1 column 1 (char 0)")},
    "getAssetAnalytics": {
        ("request.path.service_id", "path parameter `service_id`: 'serviceName' is not a uuid"),
        ("response.body", "not valid JSON: Expecting value: line 1 column 1 (char 0)")},
}


@pytest.mark.parametrize("variant", ["2015-08", "2016-08"])
def test_every_sample_exchange_validates_except_the_recorded_discrepancies(shared_reference,
                                                                           variant):
    exchanges = sample_exchanges(variant)
    assert len(exchanges) == 12
    for operation, exchange in exchanges.items():
        verdict = validate_exchange(exchange, variant)
        assert verdict.operation == operation
        found = {(v.location, v.message) for v in verdict.violations}
        assert found == KNOWN_BAD.get(operation, set()), operation


def purge(query: str = "?url=/images/logo.png", headers=TOKEN, body=b"") -> HttpRequest:
    return HttpRequest("DELETE", PURGE_URL + query, headers, body)


def violations(exchange: Exchange, variant: str = "2016-08"):
    return [(v.location, v.statements) for v in validate_exchange(exchange, variant).violations]


@pytest.mark.parametrize(("variant", "default"), [("2015-08", False), ("2016-08", True)])
def test_the_purge_sample_is_valid_and_reports_the_applied_default(shared_reference, variant,
                                                                    default):
    exchange = sample_exchanges(variant)["deleteCachedAsset"]
    verdict = validate_exchange(exchange, variant)
    assert verdict.valid and verdict.defaults == {"hard": default}
    explicit = dataclasses.replace(exchange.request, url=exchange.request.url + "&hard=false")
    assert validate_exchange(Exchange(explicit, exchange.response), variant).defaults == {}


def test_200_instead_of_202_names_s2(shared_reference):
    found = validate_exchange(Exchange(purge(), HttpResponse(200, LOCATION)), "2016-08")
    (violation,) = found.violations
    assert violation.location == "response.status" and "S2" in violation.statements
    assert violation.message.startswith("status 200 is not documented for deleteCachedAsset")


def test_missing_location_names_s3(shared_reference):
    assert violations(Exchange(purge(), HttpResponse(202))) == [
        ("response.header.Location", ("S3",))]


def test_a_body_on_the_202_or_on_the_request_names_s4(shared_reference):
    assert violations(Exchange(purge(), HttpResponse(202, LOCATION, b'{"ok": true}'))) == [
        ("response.body", ("S2", "S4"))]
    assert violations(Exchange(purge(body=b"{}"))) == [
        ("request.body", ("S1", "S4", "S12", "S20"))]


@pytest.mark.parametrize("variant", ["2015-08", "2016-08"])
@pytest.mark.parametrize("value", ["maybe", "yes", "1", "off"])
def test_hard_that_is_not_true_or_false_names_s17(shared_reference, variant, value):
    verdict = validate_exchange(Exchange(purge(f"?hard={value}")), variant)
    (violation,) = verdict.violations
    assert violation.location == "request.query.hard"
    assert violation.message == f"query parameter `hard`: '{value}' is not a boolean"
    assert {"S6", "S17"} <= set(violation.statements)


def test_hard_is_true_or_false_in_any_case(shared_reference):
    for value in ["true", "False", "TRUE"]:
        assert not validate_exchange(Exchange(purge(f"?hard={value}&url=/a.png")),
                                     "2016-08").violations


def test_missing_or_empty_token_names_s10(shared_reference):
    for headers in [(), (("X-Auth-Token", ""),)]:
        (violation,) = validate_exchange(Exchange(purge(headers=headers)), "2016-08").violations
        assert violation.location == "request.header.X-Auth-Token"
        assert violation.statements == ("S10",)


def test_the_x_project_id_form_of_the_uri(shared_reference):
    path = f"/v1.0/services/{SERVICE}/assets?url=/a.png"
    with_header = HttpRequest("DELETE", path, (*TOKEN, ("X-Project-Id", "110011")))
    verdict = validate_exchange(Exchange(with_header, HttpResponse(202, LOCATION)), "2016-08")
    assert verdict.valid and verdict.operation == "deleteCachedAsset"
    assert violations(Exchange(HttpRequest("DELETE", path, TOKEN))) == [
        ("request.path", ("S8",))]


def test_limit_bounds_in_both_and_the_rate_limit_only_in_2016_08(shared_reference):
    listing = HttpRequest("GET", "/v1.0/110011/services?limit=50", TOKEN)
    assert violations(Exchange(listing), "2016-08") == [("request.query.limit", ("S19",))]
    # the bound is in both WADLs' prose; only the 2016-08 limits page makes it S19
    assert violations(Exchange(listing), "2015-08") == [("request.query.limit", ())]
    too_many = HttpResponse(429, (("Retry-After", "30"), ("Content-Type", "application/json")),
                            b'{"message": {"errors": [{"message": "slow down"}]}}')
    assert violations(Exchange(purge(), too_many), "2016-08") == []
    assert violations(Exchange(purge(), dataclasses.replace(too_many, headers=())),
                      "2016-08")[0] == ("response.header.Retry-After", ("S24",))  # S24 alone
    for value, valid in (("Tue, 01 Dec 2026 04:20:00 GMT", True), ("60000", False),
                         ("61", False), ("soon", False)):  # S35: seconds or an HTTP-date
        late = dataclasses.replace(too_many, headers=(("Retry-After", value),
                                                      ("Content-Type", "application/json")))
        assert (violations(Exchange(purge(), late), "2016-08") == []) is valid, value
    assert violations(Exchange(purge(), too_many), "2015-08")[0][0] == "response.status"


def test_error_bodies_must_follow_the_documented_shape(shared_reference):
    """S16: error responses carry the documented body; this 404 (S18's status) does not, and
    the violation names S16, the error body's statement (the schema's), not S18's."""
    wrong = HttpResponse(404, (("Content-Type", "application/json"),), b'{"error": "nope"}')
    assert violations(Exchange(purge(), wrong)) == [("response.body", ("S16",))]


def test_unknown_paths_and_methods(shared_reference):
    assert violations(Exchange(HttpRequest("GET", "/v2/x", TOKEN))) == [("request.path", ())]
    assert violations(Exchange(HttpRequest("PUT", PURGE_URL, TOKEN))) == [("request.method", ())]


@pytest.mark.parametrize("engine", ["compiled", "openapi-core"])
def test_both_engines_take_the_operation_a_request_resolved_to(shared_reference, engine):
    from contract.validation import validator

    checking = validator("2016-08", engine)
    found = checking.validate_response(purge(), HttpResponse(200, LOCATION),
                                       operation="deleteCachedAsset")
    assert [v.location for v in found] == ["response.status"]


# What every docs sample of a listed service and of a flavor shows (S39).
LISTED = {"id": SERVICE, "name": "mywebsite.com", "domains": [{"domain": "www.mywebsite.com"}],
          "origins": [{"origin": "mywebsite.com"}], "flavor_id": "cdn", "status": "deployed",
          "links": [{"href": f"https://cdn.example/v1.0/110011/services/{SERVICE}",
                     "rel": "self"}]}
FLAVOR = {"id": "cdn", "providers": [{"provider": "akamai", "links": [
    {"href": "http://www.akamai.com", "rel": "provider_url"}]}], "links": []}


@pytest.mark.parametrize("engine", ["compiled", "openapi-core"])
@pytest.mark.parametrize("variant", ["2015-08", "2016-08"])
def test_a_response_holds_the_members_the_docs_show_s39(shared_reference, engine, variant):
    """`{}` is not a service, a page of `{}` not a page of services, `{}` not a flavor, nor
    a link without its `href`, nor a home document's resource without its `href` or
    `href-template`: each is a violation citing S39; what every sample shows passes. Before
    S39 every one of them was valid (the resource `{}` until it was required to say where)."""
    from contract.validation import validator

    checking = validator(variant, engine)
    json_type = (("Content-Type", "application/json"),)
    read = f"/v1.0/110011/services/{SERVICE}"
    cases = [(read, {}, ["id", "name", "domains", "origins", "flavor_id", "status", "errors",
                         "links"]),
             ("/v1.0/110011/services", {"services": [{}], "links": []},
              ["id", "name", "domains", "origins", "flavor_id", "status", "links"]),
             ("/v1.0/110011/flavors/cdn", {}, ["id", "providers", "links"]),
             ("/v1.0/110011/flavors/cdn", {**FLAVOR, "links": [{"rel": "self"}]}, ["href"]),
             ("/v1.0/110011/", {}, ["resources"]),
             # a resource says where it is: an `href` or an `href-template` (json-home)
             ("/v1.0/110011/", {"resources": {"rel/ping": {}}}, ["href-template"]),
             ("/v1.0/110011/", {"resources": {"rel/ping": {"hints": {"allow": ["GET"]}}}},
              ["href-template"])]
    for path, body, missing in cases:
        found = checking.validate_response(HttpRequest("GET", path, TOKEN), HttpResponse(
            200, json_type, json.dumps(body).encode()))
        assert sorted(v.message.split("'")[1] for v in found) == sorted(missing), found
        assert all("S39" in v.statements for v in found), found
    for path, body in ((read, {**LISTED, "errors": []}), ("/v1.0/110011/flavors/cdn", FLAVOR),
                       ("/v1.0/110011/", {"resources": {"rel/ping": {"href": "/ping"}}}),
                       ("/v1.0/110011/", {"resources": {"rel/services": {
                           "href-template": "/services{?marker,limit}",
                           "href-vars": {"marker": "param/marker"}}}})):
        assert checking.validate_response(HttpRequest("GET", path, TOKEN), HttpResponse(
            200, json_type, json.dumps(body).encode())) == [], body
    # a status outside the lifecycle's five breaks S34 (the member's own), not S39
    for path, body in ((read, {**LISTED, "errors": [], "status": "active"}),
                       ("/v1.0/110011/services", {"services": [{**LISTED, "status": "active"}],
                                                  "links": []})):
        found = checking.validate_response(HttpRequest("GET", path, TOKEN), HttpResponse(
            200, json_type, json.dumps(body).encode()))
        assert [(v.statements, v.level) for v in found] == [(("S34",), "SHOULD")], found


@pytest.mark.parametrize("engine", ["compiled", "openapi-core"])
@pytest.mark.parametrize("variant", ["2015-08", "2016-08"])
def test_a_list_page_is_a_wrapper_of_services_s33(shared_reference, engine, variant):
    """The list's 200 is `{"services": [...], "links": [...]}`: a body that is not such a
    page is a violation (before S33 the schema described one service at the top level, and
    `{}` passed)."""
    from contract.validation import validator

    checking = validator(variant, engine)
    listing = HttpRequest("GET", "/v1.0/110011/services", TOKEN)
    json_type = (("Content-Type", "application/json"),)
    page = {"services": [LISTED],
            "links": [{"rel": "next", "href": "https://cdn.example/v1.0/110011/services"}]}
    assert checking.validate_response(listing, HttpResponse(
        200, json_type, json.dumps(page).encode())) == []
    for broken in ({}, {"services": "x", "links": []}, {"services": [], "links": "x"},
                   {"services": [{"id": 7}], "links": []}, {"links": []},
                   {"services": [{"id": SERVICE}] * 21, "links": []}):
        found = checking.validate_response(listing, HttpResponse(
            200, json_type, json.dumps(broken).encode()))
        assert found and all(v.location.startswith("response.body") for v in found), broken
    flavors = HttpRequest("GET", "/v1.0/110011/flavors", TOKEN)
    for body, valid in (({"flavors": [FLAVOR]}, True), ({"id": "cdn"}, False)):
        found = checking.validate_response(flavors, HttpResponse(
            200, json_type, json.dumps(body).encode()))
        assert (found == []) is valid, (body, found)


# The JSON responses whose body the docs never show (the WADL's samples are placeholders):
# open by rule (S39), so `{}` is one of them. Every other documented JSON body has members.
OPEN_BODIES = {("getCachedAsset", 200), ("getAssetAnalytics", 200)}
PATH_VALUES = {"project_id": "110011", "service_id": SERVICE, "flavor_id": "cdn",
               "domain_name": "www.example.com"}


def _documented_json_responses(variant: str):
    """(method, URL, operationId, status) of every documented JSON response of a variant."""
    from contract.openapi import operations, resolve
    from contract.spec.variants import load_document

    document = load_document(variant)
    for template, method, operation in operations(document):
        url = template.format(**PATH_VALUES) + ("?url=/a.png" if "assets" in template else "")
        for status, response in operation["responses"].items():
            if "application/json" in (resolve(document, response).get("content") or {}):
                yield method.upper(), url, operation["operationId"], int(status)


@pytest.mark.parametrize("engine", ["compiled", "openapi-core"])
@pytest.mark.parametrize("variant", ["2015-08", "2016-08"])
def test_no_documented_json_response_but_the_unshown_ones_is_an_empty_object(
        shared_reference, engine, variant):
    """`{}` as the body of every documented JSON response of every operation: refused
    (S39 for what the samples show, S16 for the error body) except where the docs show no
    body at all; an error body must list at least one error (S16: it "contains the error
    messages"), which `{"message": {"errors": []}}` does not."""
    from contract.validation import validator

    checking = validator(variant, engine)
    headers = (("Content-Type", "application/json"), ("Retry-After", "30"))
    seen = set()
    for method, url, operation, status in _documented_json_responses(variant):
        request = HttpRequest(method, url, TOKEN)
        bodies = [{}] + ([{"message": {}}, {"message": {"errors": []}},
                          {"message": {"errors": [{}]}}] if status >= 400 else [])
        for body in bodies:
            found = [v for v in checking.validate_response(
                request, HttpResponse(status, headers, json.dumps(body).encode()),
                operation=operation) if v.location.startswith("response.body")]
            assert bool(found) is ((operation, status) not in OPEN_BODIES), (
                operation, status, body, found)
            if status >= 400:
                assert all("S16" in v.statements for v in found), found
        seen.add(operation)
    assert len(seen) == (12 if variant == "2015-08" else 14)
    one_error = {"message": {"errors": [{"message": "not found"}]}}
    assert checking.validate_response(purge(), HttpResponse(
        404, headers[:1], json.dumps(one_error).encode()), operation="deleteCachedAsset") == []
