"""Turn the files given on the command line into exchanges.

A raw request file starts an exchange; a raw response file that follows is its response; a
`.json` file that follows a message is that message's body (the docs keep bodies apart from
their `*-json-http.txt` messages); a `.har` file holds exchanges of its own.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from pathlib import Path

from contract.errors import InputError
from contract.inputs import read_bytes
from contract.recorded.har import read_har
from contract.recorded.raw import read_raw
from contract.validation.messages import Exchange, HttpRequest, HttpResponse


def exchanges_from_files(paths: Iterable[Path]) -> list[Exchange]:
    exchanges: list[Exchange] = []
    current: Exchange | None = None
    last: str | None = None  # "request" | "response": what a following .json belongs to
    for path in paths:
        if not path.exists():
            raise InputError("file not found", path)
        suffix = path.suffix.lower()
        if suffix == ".har":
            exchanges.extend(read_har(path))
            current, last = None, None
        elif suffix == ".json":
            if current is None or last is None:
                raise InputError("a JSON body file must follow the request or response file "
                                 "it belongs to", path)
            _attach_body(current, last, path)
        else:
            raw = read_raw(path)
            notes = raw.notes
            for message in raw.messages:
                if isinstance(message, HttpRequest):
                    current, last = Exchange(message, None, path.name, list(notes),
                                             raw.unrecorded), "request"
                    exchanges.append(current)
                    continue
                if current is None or current.response is not None:
                    raise InputError("a response file must follow its request file", path)
                current.response = message
                if current.name != path.name:
                    current.name += f" + {path.name}"
                    current.notes += notes
                    current.unrecorded |= raw.unrecorded
                last = "response"
    return exchanges


def _attach_body(exchange: Exchange, owner: str, path: Path) -> None:
    body = read_bytes(path, "a body")
    message: HttpRequest | HttpResponse | None = (exchange.request if owner == "request"
                                                  else exchange.response)
    if message is None:
        raise InputError("no message to attach this body to", path)
    if message.body.strip():
        raise InputError(f"the {owner} already has a body", path)
    updated = dataclasses.replace(message, body=body)
    if isinstance(updated, HttpRequest):
        exchange.request = updated
    else:
        exchange.response = updated
    exchange.name += f" + {path.name}"
