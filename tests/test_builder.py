"""The builder on our own small WADL (tests/fixtures/wadl/mini.wadl)."""

import pytest

from contract.spec.derive.builder import build_openapi
from contract.spec.derive.samples import check_examples
from contract.spec.wadl import read_wadl
from tests.conftest import MINI_WADL

WIDGETS = "/v2/{tenant_id}/widgets"
WIDGET = "/v2/{tenant_id}/widgets/{widget_id}"


@pytest.fixture(scope="module")
def built():
    return build_openapi(read_wadl(MINI_WADL), title="Mini", version="1",
                         label=lambda path: path.name)


@pytest.fixture(scope="module")
def doc(built):
    return built.document


def test_paths_operations_and_servers(doc):
    assert list(doc["paths"]) == [WIDGETS, WIDGET]
    assert {verb: op["operationId"] for verb, op in doc["paths"][WIDGETS].items()} == {
        "get": "listWidgets", "post": "createWidget"}
    assert doc["servers"] == [{"url": "https://api.example.test"}]
    assert doc["paths"][WIDGET]["delete"]["x-source"] == "mini.wadl:19"


def test_parameters_types_defaults_and_locations(doc):
    params = {p["name"]: p for p in doc["paths"][WIDGET]["delete"]["parameters"]}
    assert list(params) == ["tenant_id", "widget_id", "force", "X-Trace"]
    assert params["tenant_id"]["in"] == "path" and params["tenant_id"]["required"] is True
    assert params["force"]["schema"] == {
        "type": "boolean", "default": True,
        "x-default-from": "Skips checks when `true`, which is the default value."}
    assert params["X-Trace"]["in"] == "header" and params["X-Trace"]["required"] is True
    limit = doc["paths"][WIDGETS]["get"]["parameters"][1]
    assert limit["schema"] == {"type": "integer", "default": 10}


def test_every_operation_is_secured_by_the_token_and_answers_401(doc):
    scheme = doc["components"]["securitySchemes"]["AuthToken"]
    assert (scheme["type"], scheme["in"], scheme["name"]) == ("apiKey", "header", "X-Auth-Token")
    for item in doc["paths"].values():
        for operation in item.values():
            assert operation["security"] == [{"AuthToken": []}]
            assert operation["responses"]["401"] == {"$ref": "#/components/responses/Unauthorized"}


def test_statuses_merge_and_errors_carry_the_error_body(doc):
    responses = doc["paths"][WIDGETS]["get"]["responses"]
    assert responses["400"]["description"] == "- Bad limit.\n- Bad marker."
    assert responses["400"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Error"}
    delete = doc["paths"][WIDGET]["delete"]["responses"]
    assert delete["404"]["description"] == delete["410"]["description"] == "No such widget."


def test_raw_http_sample_documents_the_location_header(doc):
    accepted = doc["paths"][WIDGET]["delete"]["responses"]["202"]
    location = accepted["headers"]["Location"]
    assert location["required"] is True
    assert location["example"] == "https://api.example.test/v2/widgets/w1"
    assert "content" not in accepted


def test_response_body_from_jsonpath_typed_by_the_sample(doc):
    media = doc["paths"][WIDGETS]["get"]["responses"]["200"]["content"]["application/json"]
    widgets = media["schema"]["properties"]["widgets"]
    assert widgets["type"] == "array"
    assert widgets["items"]["properties"]["parts"]["items"]["properties"]["name"]["type"] == \
        "string"
    assert media["examples"]["listWidgets_response"]["value"]["widgets"][0]["id"] == "w1"


def test_request_body_required_members_and_explicit_arrays(doc):
    body = doc["paths"][WIDGETS]["post"]["requestBody"]
    schema = body["content"]["application/json"]["schema"]
    assert body["required"] is True
    assert schema["required"] == ["name", "size"]
    assert schema["properties"]["tags"]["type"] == "array"
    assert schema["properties"]["options"]["required"] == ["colour"]
    assert (schema["properties"]["name"]["minLength"],
            schema["properties"]["name"]["maxLength"]) == (3, 64)


def test_a_sample_missing_a_required_member_is_a_discrepancy_not_a_looser_schema(doc):
    found = check_examples(doc)
    assert [(d.operation, d.message) for d in found] == [
        ("createWidget", "example `createWidget_request` at `/`: 'size' is a required property")]
    assert found[0].source == "createWidget_request.json"
