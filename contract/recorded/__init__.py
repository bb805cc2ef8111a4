"""Recorded HTTP traffic → `Exchange`s: raw HTTP files (as in the docs' samples) and HAR 1.2."""

from contract.recorded.files import exchanges_from_files

__all__ = ["exchanges_from_files"]
