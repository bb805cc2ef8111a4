"""End to end on the shared WADLs: the two variants as the docs define them (S1-S11)."""

from __future__ import annotations

import copy
import json
import re

import pytest
import yaml
from openapi_core import Config, OpenAPI
from openapi_core.testing import MockRequest
from openapi_spec_validator import validate

from contract.errors import InputError
from contract.openapi import inline_refs
from contract.spec.derive.derive import Inputs, inputs_for, render_all, render_variant
from contract.spec.derive.overlay import load_overlay
from contract.spec.derive.samples import check_examples
from contract.spec.statements import check_citations, citations, variant_statements
from contract.spec.variants import SPEC_DIR, VARIANTS, notes_path, reference_dir

PURGE = "/v1.0/{project_id}/services/{service_id}/assets"
SERVICE = "96737ae3-cfc1-4c72-be88-5d0e7cc9a3f0"
OPERATIONS = ["getHomeDocument", "getPing", "getAllServices", "createService", "getService",
              "patchService", "deleteService", "getCachedAsset", "deleteCachedAsset",
              "getAssetAnalytics", "getFlavors", "getFlavorDetails"]
CERTIFICATES = ["createSSLCertificate", "deleteSSLCertificate"]  # 2016-08's pages only


@pytest.fixture(scope="module")
def rendered(shared_reference):
    return render_all([inputs_for(v) for v in VARIANTS.values()])


@pytest.fixture(scope="module")
def docs(rendered):
    return {name: yaml.safe_load(rendered[v.spec_name]) for name, v in VARIANTS.items()}


def purge(doc):
    return doc["paths"][PURGE]["delete"]


def param(operation, name):
    return next(p for p in operation["parameters"] if p["name"] == name)


@pytest.mark.parametrize("variant", VARIANTS)
def test_the_wadls_twelve_operations_and_the_pages_two(docs, variant):
    found = [op["operationId"] for item in docs[variant]["paths"].values() for op in item.values()]
    assert found == OPERATIONS + (CERTIFICATES if variant == "2016-08" else [])


def test_the_ssl_certificate_operations_come_from_their_published_pages(docs, rendered):
    """Create and delete, as the 2016-08 pages have them (x-source: the line that says it),
    with the general rules of every operation (S8, S10, the limits); the WADL's commented
    getSSLCertificate stays out, and the discrepancy list says so."""
    doc = docs["2016-08"]
    create = doc["paths"]["/v1.0/{project_id}/ssl_certificate"]["post"]
    delete = doc["paths"]["/v1.0/{project_id}/ssl_certificate/{domain_name}"]["delete"]
    pages = reference_dir() / "rackspace-cdn/docs-2016-08/api-reference"
    for element, says in ((create, "Create an SSL certificate"),
                          (delete, "Delete an SSL certificate"),
                          (param(delete, "domain_name"), "{domain_name}")):
        page, line = element["x-source"].rsplit(":", 1)
        assert page.startswith("rackspace-cdn/docs-2016-08/api-reference/"), page
        assert says in (reference_dir() / page).read_text().splitlines()[int(line) - 1]
    body = inline_refs(doc, create["requestBody"]["content"]["application/json"]["schema"])
    cited = re.findall(r"x-source': '([^']+\.rst):(\d+)'", str((create, delete, body)))
    assert len(cited) >= 15
    for page, line in cited:  # every line cited is on its page and says something
        assert (reference_dir() / page).read_text().splitlines()[int(line) - 1].strip()
    assert body["required"] == ["cert_type", "domain_name", "flavor_id", "project_id"]
    assert body["properties"]["cert_type"]["enum"] == ["san", "custom"]
    flavor = body["properties"]["flavor_id"]
    assert (flavor["minLength"], flavor["maxLength"]) == (3, 256)
    for operation in (create, delete):
        assert "content" not in operation["responses"]["202"]  # "does not return a body"
        assert operation["security"] == [{"AuthToken": []}]  # S10
        assert param(operation, "project_id")["x-alternative-header"] == "X-Project-Id"  # S8
        assert {"400", "401", "408", "414", "431", "503"} <= set(operation["responses"])
    assert "413" in create["responses"] and "404" in delete["responses"]
    assert "requestBody" not in delete
    assert [p.name for p in pages.iterdir() if "ssl" in p.name and "get-" in p.name] == []
    assert "getSSLCertificate" not in str(doc["paths"])
    report = rendered["cdn-2016-08.discrepancies.md"]
    assert "| getSSLCertificate | WADL comment | " in report
    assert "no published page\nof 2016-08 has it" not in report  # one line per row
    assert "no published page of 2016-08 has it" in report
    statements = doc["x-contract-statements"]
    assert {sid: statements[sid]["level"] for sid in ("S41", "S42", "S43", "S44", "S45",
                                                      "S46")} == {
        "S41": "MUST", "S42": "INTERPRETATION", "S43": "INTERPRETATION", "S44": "MUST",
        "S45": "SHOULD", "S46": "INTERPRETATION"}
    assert not {"S41", "S44"} & set(docs["2015-08"]["x-contract-statements"])


def test_a_proposed_statement_the_notes_already_have_is_refused(shared_reference, tmp_path):
    """Once CONTRACT-NOTES.md takes a proposed row in, derive says to drop it from the
    overlay (two texts for one id would drift apart)."""
    variant = VARIANTS["2016-08"]
    pages = tmp_path / variant.pages
    row = ("x-proposed-statements:\n  - {id: S8, variant: both, level: MUST, text: t, "
           "source: s}\nactions:\n")
    pages.write_text(variant.pages_path.read_text().replace("actions:\n", row, 1))
    inputs = inputs_for(variant)
    changed = Inputs(variant, inputs.wadl, (pages, *inputs.overlays[1:]), inputs.notes)
    with pytest.raises(InputError, match=r"S8 is proposed here but CONTRACT-NOTES\.md has it"):
        render_variant(changed)


@pytest.mark.parametrize("variant", VARIANTS)
def test_documents_are_valid_openapi_and_load_in_openapi_core(docs, variant):
    validate(docs[variant])
    OpenAPI.from_dict(docs[variant])
    assert docs[variant]["openapi"] == "3.1.0"


@pytest.mark.parametrize("variant", VARIANTS)
def test_purge_operation_s1_to_s6(docs, variant):
    operation = purge(docs[variant])
    assert operation["operationId"] == "deleteCachedAsset"
    assert {"S1", "S4"} <= set(operation["x-statements"])
    assert "requestBody" not in operation  # S4: no request body
    accepted = operation["responses"]["202"]  # S2
    assert set(accepted["x-statements"]) == {"S2", "S4"}
    assert "content" not in accepted  # S4: no response body
    location = accepted["headers"]["Location"]  # S3
    assert location["required"] is True and location["x-statements"] == ["S3"]
    assert location["example"] == f"https://global.cdn.api.rackspacecloud.com/v1.0/services/{SERVICE}"
    url = param(operation, "url")  # S5
    assert (url["in"], url["required"], url["schema"]["type"]) == ("query", False, "string")
    assert url["x-statements"] == ["S5"]
    hard = param(operation, "hard")  # S6
    assert (hard["in"], hard["required"], hard["schema"]["type"]) == ("query", False, "boolean")
    assert "S6" in hard["x-statements"]


@pytest.mark.parametrize(("variant", "default", "statement"),
                         [("2015-08", False, "S7a"), ("2016-08", True, "S7b")])
def test_hard_default_differs_by_variant(docs, variant, default, statement):
    schema = param(purge(docs[variant]), "hard")["schema"]
    assert schema["default"] is default
    assert schema["x-statements"] == [statement]


@pytest.mark.parametrize("variant", VARIANTS)
def test_hidden_all_parameter_s25(docs, variant):
    """S25: commented out of the WADL, yet part of the contract through the common overlay."""
    all_param = param(purge(docs[variant]), "all")
    assert all_param["x-statements"] == ["S25"] and all_param["required"] is False
    # one format for one fact: a boolean, as `hard` is (true or false in any case, S17)
    hard = param(purge(docs[variant]), "hard")
    assert all_param["schema"] == {"type": "boolean"} and hard["schema"]["type"] == "boolean"


@pytest.mark.parametrize("variant", VARIANTS)
def test_project_and_service_ids_s8_s9(docs, variant):
    operation = purge(docs[variant])
    project = param(operation, "project_id")
    assert project["in"] == "path" and project["x-statements"] == ["S8"]
    assert project["x-alternative-header"] == "X-Project-Id"
    service = param(operation, "service_id")
    shown = docs[variant]["components"]["schemas"]
    assert shown["Service"]["properties"]["id"]["format"] == "uuid"  # as the paths take it
    assert shown["ServiceSummary"]["properties"]["id"]["format"] == "uuid"
    assert service["schema"] == {"type": "string", "format": "uuid"}
    assert service["x-statements"] == ["S9"]


@pytest.mark.parametrize("variant", VARIANTS)
def test_token_required_on_every_operation_s10(docs, variant):
    doc = docs[variant]
    scheme = doc["components"]["securitySchemes"]["AuthToken"]
    assert scheme == {**scheme, "type": "apiKey", "in": "header", "name": "X-Auth-Token",
                      "x-statements": ["S10"]}
    for item in doc["paths"].values():
        for operation in item.values():
            assert operation["security"] == [{"AuthToken": []}]
            assert operation["responses"]["401"] == {"$ref": "#/components/responses/Unauthorized"}


def test_rate_limit_s11_only_in_2016_08(docs):
    limited = purge(docs["2016-08"])
    assert limited["x-rate-limit"]["requests"] == 20
    assert limited["x-rate-limit"]["period-seconds"] == 60
    assert limited["x-rate-limit"]["x-statements"] == ["S11"]
    too_many = limited["responses"]["429"]
    retry_after = too_many["headers"]["Retry-After"]
    assert retry_after["required"] is True
    # its presence is S24's (an INTERPRETATION), its form S35's: a validator tells them apart
    assert retry_after["x-statements"] == ["S24"]
    assert retry_after["schema"]["x-statements"] == ["S35"]
    assert too_many["x-statements"] == ["S11"]
    older = purge(docs["2015-08"])
    assert "x-rate-limit" not in older and "429" not in older["responses"]
    # 2015-08 documents no completion times: the ones it carries are said to be assumed
    assumed = older["x-purge-semantics"]
    assert "not documented" in assumed["x-interpretation"]
    assert assumed["purge"]["completes-after-seconds"] == \
        limited["x-purge-semantics"]["purge"]["completes-after-seconds"]


def test_later_doc_limits_only_in_2016_08(docs):
    """The body limits come from the 2016-08 limits page; the bounds of `limit` are in both
    WADLs' prose (1 to 20), so both variants have them, only 2016-08 citing S19."""
    for variant, cited in [("2016-08", ["S19"]), ("2015-08", None)]:
        limit = param(docs[variant]["paths"]["/v1.0/{project_id}/services"]["get"], "limit")
        assert (limit["schema"]["minimum"], limit["schema"]["maximum"]) == (1, 20)
        assert limit["schema"].get("x-statements") == cited
        body = docs[variant]["paths"]["/v1.0/{project_id}/services"]["post"]["requestBody"]
        schema = inline_refs(docs[variant], body["content"]["application/json"]["schema"])
        later = variant == "2016-08"
        assert schema["properties"]["domains"].get("maxItems") == (10 if later else None)
        assert schema["properties"]["caching"]["items"]["properties"]["ttl"].get(
            "maximum") == (365 * 86400 if later else None)


@pytest.mark.parametrize(("variant", "expected"), [("2015-08", False), ("2016-08", True)])
def test_openapi_core_applies_the_variant_default(docs, variant, expected):
    spec = OpenAPI.from_dict(docs[variant])
    request = MockRequest("https://global.cdn.api.rackspacecloud.com",
                          "delete", f"/v1.0/110011/services/{SERVICE}/assets",
                          args={"url": "/images/logo.png"},
                          headers={"X-Auth-Token": "0f6e9f63600142f0a970911583522217"})
    result = spec.unmarshal_request(request)
    assert result.errors == []
    assert result.parameters.query["hard"] is expected
    bad = MockRequest("https://global.cdn.api.rackspacecloud.com", "delete",
                      f"/v1.0/110011/services/{SERVICE}/assets", args={"hard": "maybe"},
                      headers={"X-Auth-Token": "t"})
    assert spec.unmarshal_request(bad).errors  # S17: not a boolean


@pytest.mark.parametrize("variant", VARIANTS)
def test_citations_exist_and_belong_to_the_variant(docs, variant):
    inputs = inputs_for(VARIANTS[variant])
    statements = variant_statements(notes_path(), [(path, load_overlay(path))
                                                   for path in inputs.overlays])
    check_citations(docs[variant], variant, statements)
    cited = {sid for _, ids in citations(docs[variant]) for sid in ids}
    own = {"2015-08": "S7a", "2016-08": "S7b"}[variant]
    assert {"S1", "S2", "S3", "S4", "S5", "S6", own, "S8", "S9", "S10"} <= cited
    assert ("S11" in cited) is (variant == "2016-08")


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_sample_validates_or_is_recorded(rendered, docs, variant):
    """Every sample validates against the schema it illustrates, lists included (S33): the
    one contradiction left, the table's flattened list, is recorded, not absorbed."""
    report = rendered[f"cdn-{variant}.discrepancies.md"]
    assert check_examples(docs[variant]) == []
    assert "the sample wraps the items in `services`" in report
    assert "the sample wraps the items in `flavors`" in report
    assert "the parameter table marks `log_delivery` required" in report  # S38
    broken = copy.deepcopy(docs[variant])
    page = broken["paths"]["/v1.0/{project_id}/services"]["get"]["responses"]["200"]
    page["content"]["application/json"]["examples"]["cdn-getAllServices_response"]["value"][
        "services"][0]["unexpected"] = 1
    assert [p.message for p in check_examples(broken)] == [
        "example `cdn-getAllServices_response` has member `unexpected` at `/services/0`, "
        "which the parameter list does not describe"]


def test_spec_dir_is_what_derive_generates_byte_for_byte(rendered):
    for name, text in rendered.items():
        assert (SPEC_DIR / name).read_text(encoding="utf-8") == text, name
    again = render_variant(inputs_for(VARIANTS["2016-08"]))
    assert again == {k: v for k, v in rendered.items() if "2016-08" in k}


def test_header_names_the_command_and_inputs(rendered):
    head = rendered["cdn-2015-08.openapi.yaml"].splitlines()[:7]
    assert head[0].startswith("# Generated by `cdn-contract derive` for variant 2015-08")
    joined = "\n".join(head)
    assert "../shared/reference/rackspace-cdn/2015-08-31/wadl/cdn-devguide.wadl" in joined
    assert "spec/overlays/2015-08.overlay.yaml" in joined


@pytest.mark.parametrize("variant", VARIANTS)
def test_openapi_core_takes_a_patch_sent_as_either_media_type(docs, variant):
    """Every real SDK sends its PATCH as application/json (the WADL's type), the docs' sample
    as application/json-patch+json: both are declared with one schema, so a validator that
    reads the spec alone (openapi-core here, as it comes for application/json; told that
    a +json type is JSON for the other) takes both, and refuses a bad body in both."""
    plain = OpenAPI.from_dict(docs[variant])
    told = OpenAPI.from_dict(docs[variant], config=Config(extra_media_type_deserializers={
        "application/json-patch+json": json.loads}))
    patch = [{"op": "replace", "path": "/name", "value": "renamed.com"}]
    for media_type, spec in (("application/json", plain),
                             ("application/json-patch+json", told)):
        for body, valid in ((patch, True), ([{"op": "copy", "path": "/name"}], False)):
            request = MockRequest("https://global.cdn.api.rackspacecloud.com", "patch",
                                  f"/v1.0/110011/services/{SERVICE}",
                                  headers={"X-Auth-Token": "t"}, data=json.dumps(body),
                                  content_type=media_type)
            errors = spec.unmarshal_request(request).errors
            assert (errors == []) is valid, (media_type, body, errors)
