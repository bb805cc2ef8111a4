"""Plain data for a parsed WADL: what the spec builder needs, nothing about XML.

Every element keeps the line it came from (`line`), so the spec can cite `file:line` for each
operation and parameter, and errors found later can still point into the WADL.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Sample:
    """An `xsdxt:code href` sample, resolved relative to the WADL file."""

    href: str
    path: Path
    line: int

    @property
    def is_raw_http(self) -> bool:
        """The docs' convention: `*-http.txt` files are raw HTTP messages, the rest bodies."""
        return self.path.name.endswith("-http.txt")


@dataclass(frozen=True)
class Param:
    name: str
    style: str  # template | query | header | plain | matrix
    line: int
    type: str | None = None  # qualified xsd name as written, e.g. "xsd:boolean"
    required: bool = False
    default: str | None = None  # the `default` attribute, when the WADL has one
    fixed: str | None = None
    repeating: bool = False
    path: str | None = None  # JSONPath of a plain param, e.g. "$.origins.rules.request_url"
    options: tuple[str, ...] = ()
    doc: str = ""  # CommonMark


@dataclass(frozen=True)
class Representation:
    media_type: str | None
    line: int
    params: tuple[Param, ...] = ()
    samples: tuple[Sample, ...] = ()


@dataclass(frozen=True)
class Response:
    statuses: tuple[int, ...]
    line: int
    title: str = ""
    doc: str = ""
    params: tuple[Param, ...] = ()
    representations: tuple[Representation, ...] = ()


@dataclass(frozen=True)
class Method:
    name: str  # HTTP method, upper case
    id: str
    line: int
    title: str = ""
    doc: str = ""
    request_params: tuple[Param, ...] = ()
    request_representations: tuple[Representation, ...] = ()
    responses: tuple[Response, ...] = ()


@dataclass(frozen=True)
class Resource:
    id: str | None
    path: str  # the full path from the API root, e.g. "/v1.0/{project_id}/services"
    line: int
    params: tuple[Param, ...] = ()  # own params plus inherited template params, outermost first
    methods: tuple[Method, ...] = ()


@dataclass(frozen=True)
class HiddenElement:
    """A WADL element that sits inside an XML comment: information, never contract."""

    kind: str  # param | method | resource | response | ...
    name: str
    line: int
    note: str = ""  # the comment's own words before the markup, if any


@dataclass
class Application:
    source: Path
    base: str
    resources: list[Resource] = field(default_factory=list)
    hidden: list[HiddenElement] = field(default_factory=list)

    def operations(self) -> list[tuple[Resource, Method]]:
        """Every (resource, method) pair, in document order."""
        return [(resource, method) for resource in self.resources for method in resource.methods]
