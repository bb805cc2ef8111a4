"""Compare two OpenAPI 3.x documents: `cdn-contract diff OLD NEW`."""

from contract.diff.compare import Change, Severity, compare

__all__ = ["Change", "Severity", "compare"]
