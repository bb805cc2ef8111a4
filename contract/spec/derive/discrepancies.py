"""Where the docs contradict themselves, recorded instead of papered over.

The builder keeps schemas faithful to the WADL's parameter list; whenever a sample, a raw
HTTP example or a commented-out element tells a different story, it lands here and is written
to `spec/discrepancies.md`, so a reader can see every place the docs disagree.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Discrepancy:
    operation: str  # operationId, or "" for the document as a whole
    where: str  # e.g. "request body", "response 200", "sample cdn-getService_response.json"
    message: str
    source: str  # "file:line" in the reference material


def render_markdown(header: str, per_variant: dict[str, list[Discrepancy]],
                    hidden: dict[str, list[tuple[str, str, str, str]]]) -> str:
    """One page: discrepancies per variant, then what the WADL keeps in comments."""
    out = [header.rstrip(), "", "# Discrepancies in the reference material", "",
           "Places where the docs' own samples or examples contradict the parameter list. The",
           "OpenAPI documents stay faithful to the parameter list; each contradiction is listed",
           "here instead of being absorbed by a looser schema.", ""]
    for variant, items in per_variant.items():
        out += [f"## Variant {variant}", ""]
        if not items:
            out += ["None.", ""]
            continue
        out += ["| operation | where | discrepancy | source |", "| --- | --- | --- | --- |"]
        for item in sorted(items):
            out.append(f"| {item.operation or '—'} | {_cell(item.where)} | {_cell(item.message)}"
                       f" | {item.source} |")
        out.append("")
    out += ["# Commented out in the WADL (information, not contract)", "",
            "XML comments are not part of the contract. These elements are hidden in comments;",
            "some on purpose (the purge operation's `all` parameter, see S25).", ""]
    for variant, rows in hidden.items():
        out += [f"## Variant {variant}", "", "| element | name | note | source |",
                "| --- | --- | --- | --- |"]
        out += [f"| {kind} | {_cell(name) or '—'} | {_cell(note) or '—'} | {source} |"
                for kind, name, note, source in rows]
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
