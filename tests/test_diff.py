"""`compare` on small hand-written spec pairs: each change kind detected and classified."""

from __future__ import annotations

import copy
import subprocess
import sys

import pytest
import yaml

from contract.diff import Severity, compare
from contract.spec.variants import PROJECT_ROOT, SPEC_DIR

B, P, N = Severity.BREAKING, Severity.POTENTIALLY_BREAKING, Severity.NON_BREAKING


def base() -> dict:
    return {
        "openapi": "3.1.0", "info": {"title": "t", "version": "1"},
        "security": [{"Token": []}],
        "components": {"schemas": {"Thing": {"type": "object", "required": ["id"],
                                             "properties": {"id": {"type": "string"},
                                                            "size": {"type": "integer"}}}}},
        "paths": {"/things/{id}": {
            "get": {
                "parameters": [
                    {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}},
                    {"name": "hard", "in": "query", "schema": {"type": "boolean",
                                                               "default": False}},
                    {"name": "mode", "in": "query", "schema": {"type": "string",
                                                               "enum": ["a", "b"]}},
                    {"name": "limit", "in": "query", "schema": {"type": "integer",
                                                                "maximum": 50}}],
                "requestBody": {"required": False, "content": {"application/json": {
                    "schema": {"type": "object", "properties": {"name": {"type": "string"}}}}}},
                "responses": {"200": {
                    "description": "ok",
                    "headers": {"Location": {"required": False, "schema": {"type": "string"}}},
                    "content": {"application/json": {"schema": {
                        "$ref": "#/components/schemas/Thing"}}}}},
            }}},
    }


def changed(edit) -> list:
    old, new = base(), base()
    edit(new)
    return [(c.kind, c.clients, c.servers) for c in compare(old, new)]


def op(doc):
    return doc["paths"]["/things/{id}"]["get"]


def param(doc, name):
    return next(p for p in op(doc)["parameters"] if p["name"] == name)


CASES = {
    "operation added": (lambda d: d["paths"]["/things/{id}"].__setitem__(
        "post", {"responses": {"201": {"description": "x"}}}), ("operation.added", N, B)),
    "operation removed": (lambda d: d["paths"]["/things/{id}"].pop("get"),
                          ("operation.removed", B, N)),
    "path removed": (lambda d: d["paths"].clear(), ("operation.removed", B, N)),
    "required parameter added": (lambda d: op(d)["parameters"].append(
        {"name": "x", "in": "header", "required": True}), ("parameter.added", B, N)),
    "optional parameter added": (lambda d: op(d)["parameters"].append(
        {"name": "x", "in": "query"}), ("parameter.added", N, P)),
    "parameter removed": (lambda d: op(d)["parameters"].pop(1), ("parameter.removed", P, N)),
    "parameter now required": (lambda d: param(d, "hard").__setitem__("required", True),
                               ("parameter.required", B, N)),
    "parameter type changed": (lambda d: param(d, "hard")["schema"].__setitem__(
        "type", "string"), ("schema.type", B, B)),
    "parameter format changed": (lambda d: param(d, "id")["schema"].__setitem__(
        "format", "uuid"), ("schema.format", B, B)),
    "default changed": (lambda d: param(d, "hard")["schema"].__setitem__("default", True),
                        ("schema.default", B, B)),
    "enum narrowed": (lambda d: param(d, "mode")["schema"].__setitem__("enum", ["a"]),
                      ("schema.enum", B, N)),
    "enum widened": (lambda d: param(d, "mode")["schema"].__setitem__("enum", ["a", "b", "c"]),
                     ("schema.enum", N, P)),
    "maximum tightened": (lambda d: param(d, "limit")["schema"].__setitem__("maximum", 20),
                          ("schema.bounds", B, N)),
    "maximum loosened": (lambda d: param(d, "limit")["schema"].pop("maximum"),
                         ("schema.bounds", N, P)),
    "request property added": (lambda d: op(d)["requestBody"]["content"]["application/json"][
        "schema"]["properties"].__setitem__("tag", {"type": "string"}),
        ("property.added", N, P)),
    "request body now required": (lambda d: op(d)["requestBody"].__setitem__("required", True),
                                  ("request-body.required", B, N)),
    "request body removed": (lambda d: op(d).pop("requestBody"), ("request-body.removed", B, N)),
    "response property removed": (lambda d: d["components"]["schemas"]["Thing"][
        "properties"].pop("size"), ("property.removed", P, N)),
    "response property type changed": (lambda d: d["components"]["schemas"]["Thing"][
        "properties"]["size"].__setitem__("type", "string"), ("schema.type", B, B)),
    "response property no longer required": (lambda d: d["components"]["schemas"]["Thing"]
                                             .pop("required"), ("property.required", B, N)),
    "response status added": (lambda d: op(d)["responses"].__setitem__(
        "429", {"description": "slow down"}), ("response.added", P, P)),
    "response status removed": (lambda d: op(d)["responses"].pop("200"),
                                ("response.removed", N, P)),
    "response header added": (lambda d: op(d)["responses"]["200"]["headers"].__setitem__(
        "Retry-After", {"required": True}), ("response-header.added", N, B)),
    "response header removed": (lambda d: op(d)["responses"]["200"].pop("headers"),
                                ("response-header.removed", P, N)),
    "response header now required": (lambda d: op(d)["responses"]["200"]["headers"][
        "Location"].__setitem__("required", True), ("response-header.required", N, B)),
    "global security changed": (lambda d: d.__setitem__("security", []),
                                ("security.changed", B, B)),
    "operation security changed": (lambda d: op(d).__setitem__("security", [{"Other": []}]),
                                   ("security.changed", B, B)),
    "rate limit added": (lambda d: op(d).__setitem__("x-rate-limit", {"requests": 20}),
                         ("extension.added", P, B)),
    "other extension changed": (lambda d: op(d).__setitem__("x-note", "hi"),
                                ("extension.added", N, N)),
    "media type added": (lambda d: op(d)["requestBody"]["content"].__setitem__(
        "application/merge-patch+json", {"schema": {}}), ("media-type.added", N, P)),
}


@pytest.mark.parametrize("name", CASES)
def test_each_change_kind_is_detected_and_classified(name):
    edit, expected = CASES[name]
    found = changed(edit)
    assert expected in found, found


def test_identical_documents_and_provenance_only_changes_are_no_change():
    old, new = base(), base()
    assert compare(old, copy.deepcopy(old)) == []
    param(new, "hard")["x-source"] = "somewhere.wadl:12"
    param(new, "hard")["x-statements"] = ["S6"]
    op(new)["description"] = "reworded"
    assert compare(old, new) == []


def test_our_variants_hard_default_and_rate_limit(shared_reference):
    old = yaml.safe_load((SPEC_DIR / "cdn-2015-08.openapi.yaml").read_text())
    new = yaml.safe_load((SPEC_DIR / "cdn-2016-08.openapi.yaml").read_text())
    changes = compare(old, new)
    default = next(c for c in changes if c.kind == "schema.default")
    assert "`hard`" in default.message and "false → true" in default.message
    assert default.clients is B and {"S7a", "S7b"} <= set(default.statements)
    too_many = next(c for c in changes if c.kind == "response.added")
    assert too_many.pointer.endswith("/delete/responses/429")
    assert set(too_many.statements) == {"S11", "S24"}  # the 429's and its Retry-After's
    (gone,) = [c for c in compare(new, old) if c.kind == "response.removed"]
    assert gone.pointer == too_many.pointer and set(gone.statements) == {"S11", "S24"}
    assert any(c.kind == "extension.added" and c.pointer.endswith("/x-rate-limit")
               for c in changes)
    assert compare(new, new) == []
    added = {c.pointer.rsplit("/", 1)[0].removeprefix("/paths/").replace("~1", "/")
             for c in changes if c.kind == "operation.added"}
    assert added == {"/v1.0/{project_id}/ssl_certificate",  # the pages' SSL certificates
                     "/v1.0/{project_id}/ssl_certificate/{domain_name}"}


def run(*args):
    return subprocess.run([sys.executable, "-m", "contract", "diff", *map(str, args)],
                          cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)


def test_cli_exit_codes_and_formats(tmp_path):
    old, new = tmp_path / "old.yaml", tmp_path / "new.json"
    old.write_text(yaml.safe_dump(base()))
    changed_doc = base()
    param(changed_doc, "hard")["schema"]["default"] = True
    import json
    new.write_text(json.dumps(changed_doc))
    result = run(old, new)
    assert result.returncode == 1 and "default false → true" in result.stdout
    assert run(old, new, "--fail-on", "none").returncode == 0
    assert run(old, old).returncode == 0
    report = json.loads(run(old, new, "--format", "json").stdout)
    assert report["changes"][0]["clients"] == "breaking"
    assert "| breaking | breaking |" in run(old, new, "--format", "markdown").stdout
    doc_field = tmp_path / "not-openapi.yaml"
    doc_field.write_text("swagger: '2.0'\n")
    bad = run(old, doc_field)
    assert bad.returncode == 2 and "not an OpenAPI 3.x document" in bad.stderr
