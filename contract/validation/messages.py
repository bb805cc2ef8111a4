"""HTTP messages as the validators see them, whatever they were read from (a raw file, a HAR
entry, a live exchange through the proxy). Their adapters to openapi-core's protocols live with
the reference validator (`reference.py`): the mock, the proxy and the compiled validator never
import openapi-core (a third of a second at every start)."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

HeaderList = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class HttpRequest:
    method: str
    url: str  # absolute, or a path with query (then `host` is irrelevant to the contract)
    headers: HeaderList = ()
    body: bytes = b""

    def header(self, name: str) -> str | None:
        return first(self.headers, name)

    @property
    def path(self) -> str:
        return urlsplit(self.url).path or "/"

    @property
    def query(self) -> list[tuple[str, str]]:
        return parse_qsl(urlsplit(self.url).query, keep_blank_values=True)


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: HeaderList = ()
    body: bytes = b""
    reason: str = ""

    def header(self, name: str) -> str | None:
        return first(self.headers, name)


@dataclass
class Exchange:
    """A request, its response if there is one, and where they were read from."""

    request: HttpRequest
    response: HttpResponse | None = None
    name: str = ""
    notes: list[str] = field(default_factory=list)  # quirks of the recording, not violations
    # parts the recording does not carry ("request.body", "response.body"): nothing there
    # can be judged, so nothing there is a violation
    unrecorded: frozenset[str] = frozenset()


def first(headers: HeaderList, name: str) -> str | None:
    wanted = name.lower()
    return next((value for key, value in headers if key.lower() == wanted), None)
