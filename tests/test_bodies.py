import pytest

from contract.spec.derive.bodies import Evidence, JsonPathError, body_schema, parse_path
from contract.spec.wadl.model import Param


def plain(path: str, required: bool = False, doc: str = "") -> Param:
    return Param(name=path.rsplit(".", 1)[-1], style="plain", line=1, path=path,
                 required=required, doc=doc)


def schema_of(params, *samples, wide=()):
    return body_schema(params, Evidence.of(samples), Evidence.of(wide, suffixes=True),
                       cite=lambda line: f"f:{line}")


def strip(schema):
    if isinstance(schema, dict):
        return {k: strip(v) for k, v in schema.items() if k != "x-source"}
    return schema


def test_parse_path_names_and_explicit_arrays():
    assert parse_path("$.origins.rules.request_url") == (("origins", "rules", "request_url"),
                                                         frozenset())
    assert parse_path("$.a[*].b['c d'][0]") == (("a", "b", "c d"), {("a",), ("a", "b", "c d")})
    with pytest.raises(JsonPathError):
        parse_path("origins.rules")
    with pytest.raises(JsonPathError):
        parse_path("$..deep")


def test_nested_lists_of_objects_from_sample_evidence():
    params = [plain("$.origins", True), plain("$.origins.origin", True),
              plain("$.origins.rules"), plain("$.origins.rules.request_url", True)]
    sample = {"origins": [{"origin": "a.test", "rules": [{"request_url": "/*"}]}]}
    assert strip(schema_of(params, sample)) == {
        "type": "object", "required": ["origins"], "properties": {"origins": {
            "type": "array", "items": {
                "type": "object", "required": ["origin"], "properties": {
                    "origin": {"type": "string"},
                    "rules": {"type": "array", "items": {
                        "type": "object", "required": ["request_url"],
                        "properties": {"request_url": {"type": "string"}}}}}}}}}


def test_a_member_with_children_is_an_object_when_nothing_says_list():
    schema = schema_of([plain("$.log_delivery", True), plain("$.log_delivery.enabled", True)])
    assert strip(schema)["properties"]["log_delivery"] == {
        "type": "object", "required": ["enabled"], "properties": {"enabled": {}}}


def test_description_wording_makes_a_list_when_no_sample_shows_it():
    schema = schema_of([plain("$.domains", doc="Specifies a list of domains."),
                        plain("$.domains.domain")])
    assert schema["properties"]["domains"]["type"] == "array"


def test_a_contradicting_sample_does_not_change_the_parameter_list_structure():
    params = [plain("$.status"), plain("$.status.deployed"), plain("$.status.code.value")]
    schema = schema_of(params, {"status": "deployed"})
    assert schema["properties"]["status"]["type"] == "object"


def test_bare_children_of_a_member_sampled_as_a_string_are_its_values():
    params = [plain("$.status", doc="The status."),
              plain("$.status.deployed", doc="Ready."), plain("$.status.failed")]
    status = schema_of(params, {"status": "deployed"})["properties"]["status"]
    assert (status["type"], status["enum"]) == ("string", ["deployed", "failed"])
    assert status["description"] == "The status.\n\n- `deployed`: Ready.\n- `failed`"
    unsampled = schema_of(params)["properties"]["status"]
    assert unsampled["type"] == "object"


def test_leaf_types_and_a_root_that_is_a_list():
    params = [plain("$.op", True), plain("$.path", True), plain("$.value")]
    schema = schema_of(params, [{"op": "add", "path": "/a", "value": 1},
                                {"op": "remove", "path": "/b"}])
    assert schema["type"] == "array"
    items = strip(schema["items"])
    assert items["required"] == ["op", "path"]
    assert items["properties"] == {"op": {"type": "string"}, "path": {"type": "string"},
                                   "value": {"type": "integer"}}


def test_mixed_and_nullable_evidence():
    schema = schema_of([plain("$.n"), plain("$.m"), plain("$.x")],
                       {"n": 1, "m": None, "x": "a"}, {"n": 1.5, "m": "b", "x": 2})
    properties = strip(schema)["properties"]
    assert properties == {"n": {"type": "number"}, "m": {"type": ["string", "null"]}, "x": {}}


def test_wide_evidence_types_members_seen_under_a_wrapper_elsewhere():
    schema = schema_of([plain("$.rules"), plain("$.rules.name")],
                       wide=[{"services": [{"rules": [{"name": "r"}]}]}])
    assert strip(schema["properties"]["rules"]) == {
        "type": "array", "items": {"type": "object", "properties": {"name": {"type": "string"}}}}


def test_prose_limits_and_defaults():
    params = [plain("$.name", doc="The minimum length for `name` is 3. The maximum length is "
                    "256."), plain("$.port", doc="The default is port 80."),
              plain("$.ttl", doc="The value of `ttl` must be greater than or equal to 0.")]
    properties = schema_of(params, {"name": "abc", "port": 80, "ttl": 5})["properties"]
    assert (properties["name"]["minLength"], properties["name"]["maxLength"]) == (3, 256)
    assert properties["port"]["default"] == 80
    assert properties["port"]["x-default-from"] == "The default is port 80."
    assert properties["ttl"]["minimum"] == 0


def test_x_source_cites_the_param_line():
    assert schema_of([plain("$.a")])["properties"]["a"]["x-source"] == "f:1"
