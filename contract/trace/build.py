"""Gather the inputs of the trace pages from the checkout and render them."""

from __future__ import annotations

from contract.diff import compare
from contract.openapi import parse_yaml
from contract.spec.statements import embedded, order
from contract.spec.variants import PROJECT_ROOT, SPEC_DIR, VARIANTS
from contract.trace.matrix import Row, build_matrix, python_files
from contract.trace.render import traceability, variants_page

# Where each kind of evidence lives; folders that do not exist yet simply contribute nothing.
MOCK_DIRS = ("contract/mock", "generated/server")
CHECK_DIRS = ("contract/conform",)
TEST_DIRS = ("tests",)


def render_pages() -> tuple[dict[str, str], list[Row]]:
    documents = {name: parse_yaml((SPEC_DIR / v.spec_name).read_text(encoding="utf-8"))
                 for name, v in VARIANTS.items()}
    statements = {sid: statement for document in documents.values()
                  for sid, statement in embedded(document).items()}
    statements = {sid: statements[sid] for sid in sorted(statements, key=order)}
    rows = build_matrix(statements, documents, python_files(PROJECT_ROOT, *MOCK_DIRS),
                        python_files(PROJECT_ROOT, *CHECK_DIRS),
                        python_files(PROJECT_ROOT, *TEST_DIRS), PROJECT_ROOT)
    old, new = list(VARIANTS)
    pages = {
        "traceability.md": traceability(rows, list(VARIANTS)),
        "variants.md": variants_page(compare(documents[old], documents[new]), statements,
                                     old, new),
    }
    return pages, rows
