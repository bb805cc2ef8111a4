"""Parse a WADL 2009/02 file safely into `contract.spec.wadl.model` objects.

Safety: lxml with entity resolution, DTD loading and network access off. Any entity reference
or entity declaration is refused outright (a WADL has no need for them), which covers
"billion laughs" bombs and external entities alike, and the error names the line.

XML comments are not contract. The docs hide elements in comments on purpose (the purge
operation's `all` parameter), so the reader lists them as `HiddenElement`s for information.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from xml.parsers import expat

from lxml import etree

from contract.errors import InputError
from contract.inputs import read_bytes
from contract.spec.wadl.docbook import to_markdown
from contract.spec.wadl.model import (
    Application,
    HiddenElement,
    Method,
    Param,
    Representation,
    Resource,
    Response,
    Sample,
)

WADL_NS = "http://wadl.dev.java.net/2009/02"
XSDXT_NS = "http://docs.rackspacecloud.com/xsd-ext/v1.0"
_W = f"{{{WADL_NS}}}"
_HIDDEN_MARKUP = re.compile(r"<(param|method|resource|response|representation)\b([^>]*)>")
_ATTR = re.compile(r'\b(name|id|href|status|path)\s*=\s*"([^"]*)"')
# Which attribute names a hidden element, by kind (a method's `name` is only its HTTP verb).
_LABELS = {"method": ("id", "href"), "response": ("status",),
           "resource": ("id", "path"), "representation": ("mediaType",)}


MAX_WADL_BYTES = 32 * 1024 * 1024  # the CDN API's are under 1 MB


def read_wadl(path: Path | str) -> Application:
    """Read and resolve a WADL: resource tree, method references, params, docs, samples."""
    path = Path(path)
    root = _parse(path)
    if root.tag != f"{_W}application":
        raise InputError(f"not a WADL 2009/02 document: root element is <{root.tag!s}>",
                         path, root.sourceline)
    reader = _Reader(path, root)
    return reader.application()


def _parse(path: Path) -> etree._Element:
    data = read_bytes(path, "a WADL", MAX_WADL_BYTES)
    _refuse_entities(data, path)
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                             remove_comments=False, remove_pis=True, huge_tree=False)
    try:
        tree = etree.fromstring(data, parser).getroottree()
    except etree.XMLSyntaxError as error:
        line = error.position[0] if error.position else None
        message = re.sub(r",? line \d+, column \d+$", "", str(error.msg))
        raise InputError(f"malformed XML: {message}", path, line) from None
    for reference in tree.getroot().iter(etree.Entity):
        raise InputError(f"entity reference {reference.text} refused: WADL input may not use "
                         "entities", path, reference.sourceline)
    return tree.getroot()


def _refuse_entities(data: bytes, path: Path) -> None:
    """Stop at the first entity declaration, before anything could expand it.

    libxml2 expands entities inside attribute values even with resolution off (and then
    stops at its amplification limit), so the gate runs first, on expat, whose declaration
    handler fires as each declaration is read. Declarations inside comments are not seen.
    """
    scanner = expat.ParserCreate()

    def refuse(name: str, is_parameter: int, value: str | None, base: str | None,
               system_id: str | None, *_: object) -> None:
        kind = "external entity" if system_id else "entity"
        raise InputError(f"{kind} declaration {name!r} refused: WADL input may not declare "
                         "entities (entity expansion and external entities are unsafe)",
                         path, scanner.CurrentLineNumber)

    scanner.EntityDeclHandler = refuse
    try:
        scanner.Parse(data, True)
    except expat.ExpatError as error:
        raise InputError(f"malformed XML: {expat.errors.messages[error.code]}", path,
                         error.lineno) from None


class _Reader:
    def __init__(self, path: Path, root: etree._Element):
        self.path = path
        self.root = root
        self.methods_by_id: dict[str, etree._Element] = {}
        for element in root.iter(f"{_W}method"):
            method_id = element.get("id")
            if method_id and element.get("href") is None:
                self.methods_by_id.setdefault(method_id, element)

    def application(self) -> Application:
        resources_elements = self.root.findall(f"{_W}resources")
        if not resources_elements:
            raise InputError("no <resources> element: the WADL describes no API", self.path,
                             self.root.sourceline)
        app = Application(source=self.path, base=resources_elements[0].get("base", ""))
        for resources in resources_elements:
            for element in resources.findall(f"{_W}resource"):
                self._resource(element, "", (), app.resources)
        app.hidden = self._hidden()
        return app

    # -- resources and methods -------------------------------------------------------------

    def _resource(self, element: etree._Element, parent_path: str,
                  inherited: tuple[Param, ...], out: list[Resource]) -> None:
        if element.get("type"):
            raise InputError(f"resource_type references are not supported (type="
                             f"\"{element.get('type')}\")", self.path, element.sourceline)
        segment = element.get("path", "")
        full = f"{parent_path.rstrip('/')}/{segment.strip('/')}" if parent_path else "/" + segment
        own = tuple(self._param(p) for p in element.findall(f"{_W}param"))
        params = inherited + own
        methods = tuple(self._method_at(m) for m in element.findall(f"{_W}method"))
        out.append(Resource(id=element.get("id"), path=full, line=element.sourceline or 0,
                            params=params, methods=methods))
        handed_down = inherited + tuple(p for p in own if p.style == "template")
        for child in element.findall(f"{_W}resource"):
            self._resource(child, full, handed_down, out)

    def _method_at(self, element: etree._Element) -> Method:
        href = element.get("href")
        if href is None:
            return self._method(element)
        if not href.startswith("#"):
            raise InputError(f"method reference {href!r} points outside this file; only "
                             "local references (#id) are supported", self.path, element.sourceline)
        target = self.methods_by_id.get(href[1:])
        if target is None:
            known = ", ".join(sorted(self.methods_by_id)) or "none"
            raise InputError(f"unknown method reference {href!r} (methods defined: {known})",
                             self.path, element.sourceline)
        return self._method(target)

    def _method(self, element: etree._Element) -> Method:
        name = element.get("name")
        if not name:
            raise InputError("<method> without a name attribute", self.path, element.sourceline)
        method_id = element.get("id") or f"{name.lower()}_{element.sourceline}"
        title, doc = self._docs(element)
        request = element.find(f"{_W}request")
        request_params: tuple[Param, ...] = ()
        request_reps: tuple[Representation, ...] = ()
        if request is not None:
            request_params = tuple(self._param(p) for p in request.findall(f"{_W}param"))
            request_reps = tuple(self._representation(r)
                                 for r in request.findall(f"{_W}representation"))
        responses = tuple(self._response(r) for r in element.findall(f"{_W}response"))
        return Method(name=name.upper(), id=method_id, line=element.sourceline or 0, title=title,
                      doc=doc, request_params=request_params,
                      request_representations=request_reps, responses=responses)

    def _response(self, element: etree._Element) -> Response:
        raw_status = element.get("status", "200")
        try:
            statuses = tuple(int(s) for s in raw_status.split())
        except ValueError:
            raise InputError(f"response status {raw_status!r} is not a list of HTTP status codes",
                             self.path, element.sourceline) from None
        title, doc = self._docs(element)
        return Response(
            statuses=statuses, line=element.sourceline or 0, title=title, doc=doc,
            params=tuple(self._param(p) for p in element.findall(f"{_W}param")),
            representations=tuple(self._representation(r)
                                  for r in element.findall(f"{_W}representation")),
        )

    def _representation(self, element: etree._Element) -> Representation:
        if element.get("href"):
            raise InputError("representation references are not supported", self.path,
                             element.sourceline)
        samples = tuple(self._sample(code) for code in element.iter(f"{{{XSDXT_NS}}}code")
                        if code.get("href"))
        return Representation(
            media_type=element.get("mediaType"), line=element.sourceline or 0,
            params=tuple(self._param(p) for p in element.findall(f"{_W}param")),
            samples=samples,
        )

    def _sample(self, code: etree._Element) -> Sample:
        href = code.get("href", "")
        resolved = Path(os.path.normpath(self.path.parent / href))
        if not resolved.is_file():
            raise InputError(f"sample file not found: {href} (resolved to {resolved})",
                             self.path, code.sourceline)
        return Sample(href=href, path=resolved, line=code.sourceline or 0)

    def _param(self, element: etree._Element) -> Param:
        name = element.get("name")
        if not name:
            raise InputError("<param> without a name attribute", self.path, element.sourceline)
        style = element.get("style", "")
        if style not in {"template", "query", "header", "plain", "matrix"}:
            raise InputError(f"param {name!r} has unknown style {style!r} (expected template, "
                             "query, header, plain or matrix)", self.path, element.sourceline)
        _, doc = self._docs(element)
        return Param(
            name=name, style=style, line=element.sourceline or 0, type=element.get("type"),
            required=element.get("required", "false").strip().lower() == "true",
            default=element.get("default"), fixed=element.get("fixed"),
            repeating=element.get("repeating", "false").strip().lower() == "true",
            path=element.get("path"),
            options=tuple(o.get("value", "") for o in element.findall(f"{_W}option")),
            doc=doc,
        )

    def _docs(self, element: etree._Element) -> tuple[str, str]:
        """The title and CommonMark text of an element's `doc` children, in order."""
        title = ""
        parts = []
        for doc in element.findall(f"{_W}doc"):
            title = title or doc.get("title", "")
            text = to_markdown(doc)
            if text:
                parts.append(text)
        return title, "\n\n".join(parts)

    # -- comments ----------------------------------------------------------------------------

    def _hidden(self) -> list[HiddenElement]:
        found = []
        for comment in self.root.getroottree().iter(etree.Comment):
            text = comment.text or ""
            first = _HIDDEN_MARKUP.search(text)
            if first is None:
                continue
            note = text[: first.start()].strip(" \t\r\n*-")
            for match in _HIDDEN_MARKUP.finditer(text):
                attrs = dict(_ATTR.findall(match.group(2)))
                keys = _LABELS.get(match.group(1), ("name",))
                label = next((attrs[key] for key in keys if attrs.get(key)), "")
                # lxml reports the line where a comment ends; count back to where it starts.
                start = (comment.sourceline or 0) - text.count("\n")
                line = start + text.count("\n", 0, match.start())
                found.append(HiddenElement(kind=match.group(1), name=label, line=line,
                                           note=" ".join(note.split())))
        return found
