"""The docs' sample exchanges, assembled the way the WADL attaches them to each method."""

from __future__ import annotations

from pathlib import Path

from contract.recorded import exchanges_from_files
from contract.spec.variants import VARIANTS
from contract.spec.wadl import read_wadl
from contract.validation import Exchange


def _ordered(paths: list[Path]) -> list[Path]:
    """The raw message first, then its JSON body."""
    return sorted(paths, key=lambda p: not p.name.endswith("-http.txt"))


def sample_exchanges(variant: str) -> dict[str, Exchange]:
    """operationId → the exchange of its request samples and its first response's samples."""
    app = read_wadl(VARIANTS[variant].wadl_path)
    found = {}
    for _, method in app.operations():
        files = _ordered([s.path for rep in method.request_representations for s in rep.samples])
        response = method.responses[0]
        files += _ordered([s.path for rep in response.representations for s in rep.samples])
        (exchange,) = exchanges_from_files(files)
        found[method.id] = exchange
    return found
