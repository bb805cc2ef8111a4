"""HTTP messages as the validators see them, whatever they were read from (a raw file, a HAR
entry, a live exchange through the proxy), and their adapters to openapi-core's protocols."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers, ImmutableMultiDict

HeaderList = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class HttpRequest:
    method: str
    url: str  # absolute, or a path with query (then `host` is irrelevant to the contract)
    headers: HeaderList = ()
    body: bytes = b""

    def header(self, name: str) -> str | None:
        return _first(self.headers, name)

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
        return _first(self.headers, name)


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


def _first(headers: HeaderList, name: str) -> str | None:
    wanted = name.lower()
    return next((value for key, value in headers if key.lower() == wanted), None)


def _content_type(headers: HeaderList) -> str:
    value = _first(headers, "Content-Type")
    return value.lower() if value else "application/json"


class OpenAPIRequest:
    """`HttpRequest` in the shape of openapi-core's `Request` protocol."""

    def __init__(self, request: HttpRequest, path: str | None = None):
        self.host_url = "http://contract.invalid"
        self.path = path or request.path
        self.method = request.method.lower()
        self.body = request.body or None
        self.content_type = _content_type(request.headers)
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(request.query), header=Headers(list(request.headers)),
            cookie=ImmutableMultiDict(), path={})


class OpenAPIResponse:
    """`HttpResponse` in the shape of openapi-core's `Response` protocol."""

    def __init__(self, response: HttpResponse):
        self.status_code = response.status
        self.data = response.body
        self.headers = Headers(list(response.headers))
        self.content_type = _content_type(response.headers)
