import os
from pathlib import Path

import pytest

from contract.errors import InputError
from contract.spec.wadl import read_wadl, reader
from tests.conftest import MINI_WADL

HEAD = ('<?xml version="1.0"?>\n{dtd}<application xmlns="http://wadl.dev.java.net/2009/02" '
        'xmlns:xsdxt="http://docs.rackspacecloud.com/xsd-ext/v1.0">\n'
        '<resources base="https://x.test/">\n{body}\n</resources>\n</application>\n')


def write(tmp_path: Path, body: str, dtd: str = "") -> Path:
    path = tmp_path / "input.wadl"
    path.write_text(HEAD.format(dtd=dtd, body=body), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def mini():
    return read_wadl(MINI_WADL)


def by_id(app, method_id):
    return next((r, m) for r, m in app.operations() if m.id == method_id)


def test_resource_tree_paths_and_document_order(mini):
    assert [(m.name, r.path) for r, m in mini.operations()] == [
        ("GET", "/v2/{tenant_id}/widgets"),
        ("POST", "/v2/{tenant_id}/widgets"),
        ("DELETE", "/v2/{tenant_id}/widgets/{widget_id}"),
    ]
    assert mini.base == "https://api.example.test/"


def test_template_params_are_inherited_outermost_first(mini):
    resource, _ = by_id(mini, "deleteWidget")
    assert [p.name for p in resource.params] == ["tenant_id", "widget_id"]
    assert resource.params[0].doc == "The tenant."


def test_method_references_resolve_to_the_top_level_methods(mini):
    _, method = by_id(mini, "listWidgets")
    assert method.title == "List widgets"
    assert [p.name for p in method.request_params] == ["limit"]
    assert method.request_params[0].default == "10"


def test_inline_method_with_query_and_header_params(mini):
    _, method = by_id(mini, "deleteWidget")
    assert [(p.name, p.style, p.type, p.required) for p in method.request_params] == [
        ("force", "query", "xsd:boolean", False), ("X-Trace", "header", "xsd:string", True)]
    assert method.doc == "Deletes a widget."


def test_response_statuses_docs_and_samples(mini):
    _, method = by_id(mini, "deleteWidget")
    accepted, gone = method.responses
    assert accepted.statuses == (202,) and accepted.title == "Accepted"
    assert accepted.doc == "Deletion started."
    sample = accepted.representations[0].samples[0]
    assert sample.path == MINI_WADL.parent / "samples" / "deleteWidget_response-json-http.txt"
    assert sample.is_raw_http
    assert gone.statuses == (404, 410)


def test_plain_params_keep_their_jsonpath(mini):
    _, method = by_id(mini, "createWidget")
    params = method.request_representations[0].params
    assert [(p.name, p.path, p.required) for p in params][:2] == [
        ("name", "$.name", True), ("tags", "$.tags[*].label", False)]


def test_commented_out_elements_are_listed_not_read(mini):
    _, method = by_id(mini, "deleteWidget")
    assert "cascade" not in [p.name for p in method.request_params]
    hidden = [(h.kind, h.name, h.note) for h in mini.hidden]
    assert ("param", "cascade", "Hidden on purpose.") in hidden
    line = next(h.line for h in mini.hidden if h.name == "cascade")
    assert 'name="cascade"' in MINI_WADL.read_text().splitlines()[line - 1]


def test_docbook_in_method_docs(mini):
    _, method = by_id(mini, "listWidgets")
    assert method.doc == ("Lists *all* widgets. See [the docs](https://example.test/docs).\n\n"
                          "> **Note:** Results are paged.\n\n- first item\n- second `item`")


def error_of(path: Path) -> InputError:
    with pytest.raises(InputError) as caught:
        read_wadl(path)
    return caught.value


def test_malformed_xml_names_file_and_line(tmp_path):
    path = write(tmp_path, '<resource path="a">\n<method name="GET" id="x">\n</resource>')
    error = error_of(path)
    assert error.path == path and error.line == 6
    assert str(error) == f"{path}:6: malformed XML: mismatched tag"


def test_entity_bomb_is_refused_before_expansion(tmp_path):
    dtd = ('<!DOCTYPE application [\n<!ENTITY a "aaaaaaaaaa">\n'
           + "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">\n'
                     for i in range(8)) + "]>\n")
    path = write(tmp_path, '<resource path="&i;"/>', dtd)
    error = error_of(path)
    assert error.message.startswith("entity declaration 'a' refused") and error.line == 3


def test_external_entity_is_refused(tmp_path):
    dtd = '<!DOCTYPE application [\n<!ENTITY xxe SYSTEM "file:///etc/passwd">\n]>\n'
    path = write(tmp_path, '<resource path="a"><method name="GET" id="g"><doc>&xxe;</doc>'
                 '</method></resource>', dtd)
    error = error_of(path)
    assert error.message.startswith("external entity declaration 'xxe' refused")
    assert error.line == 3
    assert "root:" not in str(error)


def test_unknown_method_reference(tmp_path):
    path = write(tmp_path, '<resource path="a">\n  <method href="#nope"/>\n</resource>')
    error = error_of(path)
    assert error.line == 5 and "unknown method reference '#nope'" in error.message


def test_missing_sample_file(tmp_path):
    path = write(tmp_path, '<resource path="a"><method name="GET" id="g"><response status="200">'
                 '\n<representation mediaType="application/json"><doc>\n'
                 '<xsdxt:code href="samples/gone.json"/></doc></representation></response>'
                 '</method></resource>')
    error = error_of(path)
    assert error.line == 6 and "sample file not found: samples/gone.json" in error.message


def test_not_a_wadl_and_missing_file(tmp_path):
    other = tmp_path / "other.xml"
    other.write_text("<root/>")
    assert "not a WADL" in error_of(other).message
    assert error_of(tmp_path / "absent.wadl").message == "file not found"


def test_only_a_regular_file_under_the_cap_is_read(tmp_path, monkeypatch):
    """`/dev/zero` grew the process to 4.7 GB and a FIFO hung (issue 21, item 17)."""
    fifo = tmp_path / "pipe.wadl"
    os.mkfifo(fifo)
    for path in (Path("/dev/zero"), fifo, tmp_path):
        assert error_of(path).message == "not a regular file: a WADL is read from a file"
    big = tmp_path / "big.wadl"
    big.write_bytes(b" " * 2048)
    monkeypatch.setattr(reader, "MAX_WADL_BYTES", 1024)
    assert "2048 bytes: over the 1024" in error_of(big).message
