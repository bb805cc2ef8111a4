"""Files a user names as input (a WADL, an overlay, a spec, recorded traffic, a service
body, a configuration file): read only when they are regular files of a bounded size.

Without the rule, `/dev/zero` is read until memory runs out (4.9 GB in 3 s) and a FIFO
with no writer hangs the command; with it, either is one line naming the file (exit 2).
The size is looked at before reading and bounded while reading (a file may grow).
"""

from __future__ import annotations

import stat
from pathlib import Path

from contract.errors import InputError

MAX_INPUT_BYTES = 32 * 1024 * 1024  # the CDN API's WADLs are under 1 MB, its specs 200 KB


def read_bytes(path: Path, what: str, limit: int = MAX_INPUT_BYTES) -> bytes:
    """The file's bytes; InputError naming it when it is missing, not a regular file (`what`
    says what it should be: "a WADL"), over `limit` bytes, or unreadable."""
    try:
        kind = path.stat()
        if not stat.S_ISREG(kind.st_mode):  # /dev/zero never ends, a FIFO may never answer
            raise InputError(f"not a regular file: {what} is read from a file", path)
        if kind.st_size > limit:
            raise InputError(f"{kind.st_size} bytes: over the {limit} {what} may have", path)
        with path.open("rb") as file:
            data = file.read(limit + 1)
    except FileNotFoundError:
        raise InputError("file not found", path) from None
    except OSError as error:
        raise InputError(f"cannot read file: {error.strerror or error}", path) from None
    if len(data) > limit:  # grew while being read
        raise InputError(f"over the {limit} bytes {what} may have", path)
    return data


def read_text(path: Path, what: str, limit: int = MAX_INPUT_BYTES) -> str:
    """The file as UTF-8 text, under the rule of `read_bytes`."""
    try:
        return read_bytes(path, what, limit).decode("utf-8")
    except UnicodeDecodeError as error:
        raise InputError(f"cannot read as UTF-8 text: {error}", path) from None
