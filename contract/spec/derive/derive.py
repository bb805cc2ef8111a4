"""`cdn-contract derive`: WADL → OpenAPI → overlays → checks → files in `spec/`.

Everything is rendered in memory and checked first (OpenAPI validity, loading in
openapi-core, statement citations); files are written only when every variant succeeded,
each through a temporary file and an atomic rename, so a failure never leaves a half-written
`spec/`.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from contract.errors import InputError
from contract.openapi import operations
from contract.spec.derive.builder import build_openapi
from contract.spec.derive.components import name_models
from contract.spec.derive.discrepancies import Discrepancy, render_markdown
from contract.spec.derive.emit import comment_header, to_yaml
from contract.spec.derive.overlay import apply_overlay, load_overlay
from contract.spec.derive.samples import check_examples, parameter_examples
from contract.spec.derive.shown import require_shown
from contract.spec.statements import check_citations, embed, variant_statements
from contract.spec.variants import COMMON_OVERLAY, PROJECT_ROOT, Variant, notes_path, reference_dir
from contract.spec.wadl import read_wadl

TITLE = "Rackspace CDN API"
API_VERSION = "1.0"


@dataclass(frozen=True)
class Inputs:
    variant: Variant
    wadl: Path
    overlays: tuple[Path, ...]
    notes: Path


def inputs_for(variant: Variant, wadl: Path | None = None,
               overlay: Path | None = None) -> Inputs:
    """The variant's inputs; `overlay` replaces its own overlay (not its pages' operations,
    which come first so that the common overlay's general rules reach them)."""
    pages = (variant.pages_path,) if variant.pages_path else ()
    return Inputs(variant, wadl or variant.wadl_path,
                  (*pages, COMMON_OVERLAY, overlay or variant.overlay_path), notes_path())


def render_variant(inputs: Inputs) -> dict[str, str]:
    """The files of one variant, by file name: the OpenAPI document and its discrepancies."""
    variant = inputs.variant
    app = read_wadl(inputs.wadl)
    result = build_openapi(app, title=TITLE, version=f"{API_VERSION}+{variant.name}",
                           label=_reference_label)
    document = result.document
    document["info"]["description"] = variant.summary
    document["info"]["x-variant"] = variant.name
    document["info"]["x-canonical"] = variant.canonical
    overlays = [(path, load_overlay(path)) for path in inputs.overlays]
    settled = [found for path, overlay in overlays
               for found in apply_overlay(document, overlay, path)]
    _sort_responses(document)
    name_models(document)
    settled += require_shown(document)
    shown = parameter_examples(document, result.shown)
    statements = variant_statements(inputs.notes, overlays)
    check_citations(document, variant.name, statements)
    embed(document, statements, variant.name)
    _check_valid(document, variant.name)
    discrepancies = _unique(result.discrepancies + settled + check_examples(document) + shown)
    header = _header(inputs)
    hidden = [(h.kind, h.name, h.note, f"{_reference_label(app.source)}:{h.line}")
              for h in app.hidden]
    return {
        variant.spec_name: to_yaml(document, header),
        f"cdn-{variant.name}.discrepancies.md":
            render_markdown(_markdown_comment(header), {variant.name: discrepancies},
                            {variant.name: hidden}),
    }


def render_all(all_inputs: list[Inputs]) -> dict[str, str]:
    files: dict[str, str] = {}
    for inputs in all_inputs:
        files.update(render_variant(inputs))
    return files


def _sort_responses(document: dict[str, Any]) -> None:
    """Overlays append responses; keep each operation's statuses in numeric order."""
    for _, _, operation in operations(document):
        if isinstance(operation.get("responses"), dict):
            operation["responses"] = dict(sorted(operation["responses"].items()))


def _check_valid(document: dict[str, Any], variant: str) -> None:
    from openapi_core import OpenAPI
    from openapi_spec_validator import validate
    from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

    try:
        validate(document)
        OpenAPI.from_dict(document)
    except OpenAPIValidationError as error:
        where = "/".join(str(p) for p in error.path) if hasattr(error, "path") else ""
        raise InputError(f"the {variant} document is not valid OpenAPI 3.1 at /{where}: "
                         f"{error.message}") from None


def _unique(items: list[Discrepancy]) -> list[Discrepancy]:
    return sorted(set(items))


def _reference_label(path: Path) -> str:
    """Cite reference files relative to the reference folder; others by their name."""
    try:
        return path.resolve().relative_to(reference_dir().resolve()).as_posix()
    except ValueError:
        return path.name


def _display(path: Path) -> str:
    return Path(os.path.relpath(path.resolve(), PROJECT_ROOT)).as_posix()


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def _header(inputs: Inputs) -> str:
    lines = [f"Generated by `cdn-contract derive` for variant {inputs.variant.name}"
             f"{' (canonical)' if inputs.variant.canonical else ''}. Do not edit:",
             "change the inputs and run `make spec` (`--check` verifies it is current).",
             "Inputs (sha256 prefix):"]
    lines += [f"  {_display(p)}  {_digest(p)}"
              for p in (inputs.wadl, *inputs.overlays, inputs.notes)]
    return comment_header(lines)


def _markdown_comment(header: str) -> str:
    body = "\n".join(line[2:] if line.startswith("# ") else line.lstrip("#")
                     for line in header.splitlines())
    return f"<!--\n{body}\n-->"
