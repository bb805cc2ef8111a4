"""The normative statements of `CONTRACT-NOTES.md` (S1, S2, ...), parsed from its table.

Spec elements cite them in `x-statements`; `check_citations` makes sure every cited id exists
and belongs to the variant of the document that cites it. An overlay that brings what no row
numbers yet proposes its rows in `x-proposed-statements` (same columns), statements of the
spec like the notes' own until the notes take them in.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from contract.errors import InputError
from contract.jsonpointer import escape
from contract.spec.variants import SHARED_HINT

_ROW = re.compile(r"^\|\s*(S\d+[a-z]?)\s*\|\s*([\w-]+)\s*\|\s*([A-Z]+)\s*\|(.*)\|(.*)\|\s*$")


@dataclass(frozen=True)
class Statement:
    id: str
    variant: str  # "both", "2015-08" or "2016-08"
    level: str  # MUST | SHOULD | INTERPRETATION
    text: str
    source: str

    def applies_to(self, variant: str) -> bool:
        return self.variant in {"both", variant}


def load_statements(path: Path) -> dict[str, Statement]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise InputError(f"contract notes not found: {SHARED_HINT}", path) from None
    found: dict[str, Statement] = {}
    for line in lines:
        match = _ROW.match(line)
        if match:
            sid, variant, level, text, source = (g.strip() for g in match.groups())
            found[sid] = Statement(sid, variant, level, text, source)
    if not found:
        raise InputError("no statement rows (| S1 | variant | level | ... |) found", path)
    return found


PROPOSED = "x-proposed-statements"  # an overlay's rows, not yet in CONTRACT-NOTES.md
_COLUMNS = ("id", "variant", "level", "text", "source")
LEVELS = ("MUST", "SHOULD", "INTERPRETATION")


def proposed_statements(overlay: dict[str, Any], path: Path) -> dict[str, Statement]:
    """The rows an overlay (from `load_overlay`) proposes for CONTRACT-NOTES.md."""
    rows = overlay.get(PROPOSED, [])
    if not isinstance(rows, list):
        raise InputError(f"{PROPOSED} must be a list of rows", path, overlay.get("__line__"))
    found: dict[str, Statement] = {}
    for row in rows:
        line = row.get("__line__") if isinstance(row, dict) else None
        if not isinstance(row, dict) or not all(isinstance(row.get(key), str)
                                                for key in _COLUMNS):
            raise InputError(f"a {PROPOSED} row needs {', '.join(_COLUMNS)} (strings)", path,
                             line)
        if not _ROW.match(f"| {row['id']} | {row['variant']} | {row['level']} | | |") or \
                row["level"] not in LEVELS:
            raise InputError(f"{row['id']}: not a statement row (id S<n>, a variant, a level "
                             f"of {', '.join(LEVELS)})", path, line)
        found[row["id"]] = Statement(*(row[key].strip() for key in _COLUMNS))
    return found


def variant_statements(notes: Path, overlays: Iterable[tuple[Path, dict[str, Any]]]
                       ) -> dict[str, Statement]:
    """The notes' statements and those the variant's overlays propose. A proposed id the
    notes already have is an error: once the notes take a row in, the overlay drops it."""
    statements = load_statements(notes)
    for path, overlay in overlays:
        for sid, statement in proposed_statements(overlay, path).items():
            if sid in statements:
                raise InputError(f"{sid} is proposed here but CONTRACT-NOTES.md has it: "
                                 f"remove it from {PROPOSED}", path)
            statements[sid] = statement
    return statements


def order(sid: str) -> tuple[int, str]:
    """How statement ids sort: S7a after S7 and before S8, S10 after S9."""
    return int("".join(ch for ch in sid if ch.isdigit())), sid


EMBEDDED = "x-contract-statements"  # where a derived document carries its statements


def embed(document: dict[str, Any], statements: dict[str, Statement], variant: str) -> None:
    """Put the statements of `variant` in its document, so that every reader at run time
    (conform, trace, an installed wheel) asks the spec and never needs CONTRACT-NOTES.md."""
    document[EMBEDDED] = {sid: {"variant": s.variant, "level": s.level, "text": s.text,
                                "source": s.source}
                          for sid, s in statements.items() if s.applies_to(variant)}


def embedded(document: dict[str, Any]) -> dict[str, Statement]:
    """The statements a derived document carries (see `embed`)."""
    rows = document.get(EMBEDDED)
    if not isinstance(rows, dict) or not rows:
        raise InputError(f"the spec carries no {EMBEDDED}: derive it again (`make spec`)")
    return {sid: Statement(sid, row["variant"], row["level"], row["text"], row["source"])
            for sid, row in rows.items()}


def citations(document: Any, pointer: str = "") -> Iterator[tuple[str, list[str]]]:
    """Every `x-statements` list in a document, with the JSON pointer of its owner."""
    if isinstance(document, dict):
        cited = document.get("x-statements")
        if isinstance(cited, list):
            yield pointer or "/", cited
        for key, value in document.items():
            yield from citations(value, f"{pointer}/{escape(str(key))}")
    elif isinstance(document, list):
        for index, value in enumerate(document):
            yield from citations(value, f"{pointer}/{index}")


def check_citations(document: dict[str, Any], variant: str,
                    statements: dict[str, Statement]) -> None:
    for pointer, cited in citations(document):
        for sid in cited:
            statement = statements.get(str(sid))
            if statement is None:
                raise InputError(f"{pointer} cites {sid}, which CONTRACT-NOTES.md does not "
                                 "define")
            if not statement.applies_to(variant):
                raise InputError(f"{pointer} cites {sid}, a {statement.variant} statement, "
                                 f"in the {variant} document")
