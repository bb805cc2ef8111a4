"""String formats of the contract, read the same way by the mock and the conformance checks."""

from __future__ import annotations

import re
import uuid

# The form the docs write service ids in (S9): 8-4-4-4-12 hex digits.
CANONICAL_UUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")


def is_uuid(text: str) -> bool:
    """jsonschema's `uuid` format, which openapi-core applies: what `uuid.UUID` reads, with
    the dashes in place. The canonical form is matched first, since nearly every id is."""
    if CANONICAL_UUID.fullmatch(text):
        return True
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return all(text[position] == "-" for position in (8, 13, 18, 23))
