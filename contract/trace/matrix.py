"""The traceability matrix, built from what the project itself says.

- spec elements: the `x-statements` of the generated documents, per variant;
- mock behaviour, conformance checks, tests: Python functions whose source (decorators
  included) names the statement id, found by reading the code (`ast`), not by importing it.
Where each kind of evidence lives is a parameter, so the matrix grows with the project: the
stub server and the conformance suite are picked up as soon as their packages exist.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from contract.spec.statements import Statement, citations

_ID = re.compile(r"\bS\d+[a-z]?\b")


@dataclass
class Row:
    statement: Statement
    spec: dict[str, list[str]] = field(default_factory=dict)  # variant → JSON pointers
    mock: list[str] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)
    tests: list[str] = field(default_factory=list)

    @property
    def gaps(self) -> list[str]:
        gaps = []
        if not any(self.spec.values()):
            gaps.append("no spec element")
        if not self.checks:
            gaps.append("no conformance check")
        if not self.tests:
            gaps.append("no test")
        return gaps


def build_matrix(statements: dict[str, Statement], documents: dict[str, dict[str, Any]],
                 mock: Iterable[Path], checks: Iterable[Path], tests: Iterable[Path],
                 root: Path) -> list[Row]:
    rows = {sid: Row(statement) for sid, statement in statements.items()}
    for variant, document in documents.items():
        for pointer, ids in citations(document):
            for sid in ids:
                if sid in rows:
                    rows[sid].spec.setdefault(variant, []).append(pointer)
    for paths, attribute in ((mock, "mock"), (checks, "checks"), (tests, "tests")):
        for sid, places in functions_citing(paths, root).items():
            if sid in rows:
                getattr(rows[sid], attribute).extend(places)
    return list(rows.values())


def functions_citing(paths: Iterable[Path], root: Path) -> dict[str, list[str]]:
    """statement id → `file::function` for every top-level or method function whose source
    names it. Test functions are those named `test_*`; elsewhere any function counts."""
    found: dict[str, list[str]] = defaultdict(list)
    for path in sorted(paths):
        source = path.read_text(encoding="utf-8")
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        tests_only = path.name.startswith("test_")
        for node in ast.walk(tree):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            if tests_only and not node.name.startswith("test_"):
                continue
            start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            text = "\n".join(source.splitlines()[start - 1: node.end_lineno])
            label = f"{path.relative_to(root).as_posix()}::{node.name}"
            for sid in dict.fromkeys(_ID.findall(text)):
                found[sid].append(label)
    return found


def python_files(root: Path, *folders: str) -> list[Path]:
    return [path for folder in folders if (root / folder).is_dir()
            for path in sorted((root / folder).rglob("*.py"))]
