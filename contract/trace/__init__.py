"""Traceability: each statement of CONTRACT-NOTES.md → spec elements, mock, checks, tests."""

from contract.trace.matrix import Row, build_matrix

__all__ = ["Row", "build_matrix"]
