"""The traceability matrix and the generated pages."""

from __future__ import annotations

from contract.spec.statements import Statement
from contract.spec.variants import PROJECT_ROOT
from contract.trace import build_matrix
from contract.trace.build import CHECK_DIRS, render_pages
from contract.trace.matrix import functions_citing
from contract.trace.render import HEADER

DOCS = PROJECT_ROOT / "docs"


def test_functions_citing_reads_tests_and_decorators(tmp_path):
    (tmp_path / "test_x.py").write_text(
        "import pytest\n\n@pytest.mark.parametrize('s', ['S7b'])\ndef test_a(s):\n"
        "    assert s\n\ndef helper():\n    return 'S1'\n\ndef test_b():\n    '''S2, S2'''\n")
    (tmp_path / "checks.py").write_text("def check_default():\n    return 'S7a'\n")
    found = functions_citing(sorted(tmp_path.glob("*.py")), tmp_path)
    assert found == {"S7b": ["test_x.py::test_a"], "S2": ["test_x.py::test_b"],
                     "S7a": ["checks.py::check_default"]}


def test_matrix_rows_and_gaps(tmp_path):
    statements = {sid: Statement(sid, "both", "MUST", "text", "src") for sid in ("S1", "S2")}
    document = {"paths": {"/a": {"get": {"x-statements": ["S1"]}}}}
    test_file = tmp_path / "test_y.py"
    test_file.write_text("def test_one():\n    '''S1'''\n")
    rows = build_matrix(statements, {"v": document}, [], [], [test_file], tmp_path)
    first, second = rows
    assert first.spec == {"v": ["/paths/~1a/get"]} and first.tests == ["test_y.py::test_one"]
    assert first.gaps == ["no conformance check"]
    assert second.gaps == ["no spec element", "no conformance check", "no test"]


def test_pages_are_current_and_trace_our_variants(shared_reference):
    pages, rows = render_pages()
    for name, text in pages.items():
        assert text.startswith(HEADER)  # says which command made it
        assert (DOCS / name).read_text(encoding="utf-8") == text, f"docs/{name} is stale"
    by_id = {row.statement.id: row for row in rows}
    assert set(by_id["S7a"].spec) == {"2015-08"} and set(by_id["S7b"].spec) == {"2016-08"}
    assert by_id["S7b"].tests
    assert "## query parameter `hard`" in pages["variants.md"]
    assert "S7b (2016-08, MUST): `hard` defaults to `true` (purge). Canonical." in \
        pages["variants.md"]


def test_every_must_statement_has_a_conformance_check_once_the_suite_exists(shared_reference):
    _, rows = render_pages()
    musts = [row for row in rows if row.statement.level == "MUST"]
    if any((PROJECT_ROOT / folder).is_dir() for folder in CHECK_DIRS):
        assert [r.statement.id for r in musts if not r.checks] == []
    else:  # until it exists, every MUST row must be flagged, never shown as covered
        assert all("no conformance check" in r.gaps for r in musts)
