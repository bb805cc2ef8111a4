import pytest
import yaml

from contract.errors import InputError
from contract.spec.derive.overlay import apply_overlay, load_overlay


def document():
    return {"paths": {"/a/{id}": {"delete": {
        "parameters": [{"name": "id", "in": "path"}, {"name": "hard", "in": "query",
                                                      "schema": {"type": "boolean"}}],
        "responses": {"202": {"description": "ok"}}}}}}


def overlay(tmp_path, actions):
    path = tmp_path / "o.yaml"
    path.write_text(yaml.safe_dump({"overlay": "1.0.0", "info": {"title": "t", "version": "1"},
                                    "actions": actions}, sort_keys=False))
    return path


def run(tmp_path, actions, doc=None):
    doc = doc or document()
    path = overlay(tmp_path, actions)
    apply_overlay(doc, load_overlay(path), path)
    return doc


def test_update_merges_recursively_through_a_filter(tmp_path):
    doc = run(tmp_path, [{"target": "$.paths['/a/{id}'].delete.parameters[?(@.name == 'hard')]",
                          "update": {"schema": {"default": True}, "x-statements": ["S7b"]}}])
    hard = doc["paths"]["/a/{id}"]["delete"]["parameters"][1]
    assert hard == {"name": "hard", "in": "query", "schema": {"type": "boolean", "default": True},
                    "x-statements": ["S7b"]}


def test_update_on_an_array_appends(tmp_path):
    doc = run(tmp_path, [{"target": "$.paths.*.delete.parameters",
                          "update": {"name": "all", "in": "query"}}])
    assert [p["name"] for p in doc["paths"]["/a/{id}"]["delete"]["parameters"]] == \
        ["id", "hard", "all"]


def test_remove_by_field_and_by_filter(tmp_path):
    doc = run(tmp_path, [
        {"target": "$.paths['/a/{id}'].delete.responses['202']", "remove": True},
        {"target": "$.paths.*.delete.parameters[?(@.name == 'id')]", "remove": True}])
    operation = doc["paths"]["/a/{id}"]["delete"]
    assert operation["responses"] == {}
    assert [p["name"] for p in operation["parameters"]] == ["hard"]


def test_actions_apply_in_order(tmp_path):
    doc = run(tmp_path, [{"target": "$.paths.*.delete", "update": {"x-a": 1}},
                         {"target": "$.paths.*.delete", "update": {"x-a": 2}}])
    assert doc["paths"]["/a/{id}"]["delete"]["x-a"] == 2


def test_an_action_that_settles_a_contradiction_returns_it(tmp_path):
    noted = {"operation": "op", "where": "request body", "message": "m", "source": "S38"}
    path = overlay(tmp_path, [{"target": "$.paths.*.delete", "update": {"x-a": 1},
                               "x-discrepancy": noted},
                              {"target": "$.paths.*.delete", "update": {"x-b": 1}}])
    doc = document()
    found = apply_overlay(doc, load_overlay(path), path)
    assert [(d.operation, d.where, d.message, d.source) for d in found] == [
        ("op", "request body", "m", "S38")]
    assert "x-discrepancy" not in doc["paths"]["/a/{id}"]["delete"]  # not a spec element
    broken = overlay(tmp_path, [{"target": "$.paths.*.delete", "update": {"x-a": 1},
                                 "x-discrepancy": {"message": "m"}}])
    with pytest.raises(InputError, match="x-discrepancy needs operation, where"):
        apply_overlay(document(), load_overlay(broken), broken)


def test_a_target_that_matches_nothing_is_an_error_with_its_line(tmp_path):
    path = overlay(tmp_path, [{"target": "$.info", "update": {"x": 1}},
                              {"target": "$.paths.*.get", "update": {"x": 1}}])
    with pytest.raises(InputError) as caught:
        apply_overlay(document() | {"info": {}}, load_overlay(path), path)
    assert caught.value.path == path
    assert "matches nothing" in caught.value.message
    lines = path.read_text().splitlines()
    assert "$.paths.*.get" in lines[caught.value.line - 1]


@pytest.mark.parametrize(("text", "message"), [
    ("overlay: 1.0.0\nactions: [\n", "invalid YAML"),
    ("openapi: 3.1.0\n", "not an OpenAPI Overlay"),
    ("overlay: 2.0.0\nactions: [{target: $, remove: true}]\n", "unsupported overlay version"),
    ("overlay: 1.0.0\nactions: []\n", "non-empty `actions`"),
])
def test_bad_overlay_documents(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(InputError) as caught:
        load_overlay(path)
    assert message in caught.value.message


def test_invalid_jsonpath_is_named(tmp_path):
    with pytest.raises(InputError) as caught:
        run(tmp_path, [{"target": "$.paths.*.[?(@.x)]", "update": {}}])
    assert "invalid JSONPath target" in caught.value.message
