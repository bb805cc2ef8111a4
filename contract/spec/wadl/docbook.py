"""DocBook (as found inside `wadl:doc`) rendered to CommonMark.

WADL descriptions mix bare text, inline markup (`code`, `link`, `emphasis`) and blocks (`para`,
`note`, lists, `programlisting`). OpenAPI descriptions are CommonMark, so each block becomes a
paragraph, a blockquote or a list, and inline markup becomes backticks, links and emphasis.
Whitespace from the XML indentation is collapsed; literal blocks keep theirs.
"""

from __future__ import annotations

import re

from lxml import etree

_INLINE_CODE = {"code", "literal", "filename", "command", "parameter", "option", "varname",
                "function", "classname", "constant", "userinput", "computeroutput", "uri"}
_LISTS = {"itemizedlist": False, "orderedlist": True, "simplelist": False}
_LITERAL_BLOCKS = {"programlisting", "screen", "literallayout"}
_ADMONITIONS = {"note": "Note", "warning": "Warning", "important": "Important",
                "tip": "Tip", "caution": "Caution"}
_BLOCKS = ({"para", "simpara", "formalpara", "title", "listitem", "member"}
           | set(_LISTS) | _LITERAL_BLOCKS | set(_ADMONITIONS))
_SPACES = re.compile(r"\s+")
# Characters that would change meaning in CommonMark; `_` only matters at word edges.
_ESCAPE = re.compile(r"([\\`*\[\]<])|(?<![\w])_|_(?![\w])")


def local_name(element: etree._Element) -> str:
    tag = element.tag
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def to_markdown(element: etree._Element) -> str:
    """Render the content of a `wadl:doc` (or any DocBook container) to CommonMark."""
    return "\n\n".join(block for block in _blocks(element) if block.strip()).strip()


def _escape(text: str) -> str:
    return _ESCAPE.sub(lambda m: "\\" + m.group(0), text)


def _blocks(container: etree._Element) -> list[str]:
    """Split a container into rendered blocks; loose inline content forms paragraphs."""
    blocks: list[str] = []
    run: list[str] = [_escape(container.text or "")]

    def flush() -> None:
        text = _SPACES.sub(" ", "".join(run)).strip()
        if text:
            blocks.append(text)
        run.clear()

    for child in container:
        if not isinstance(child.tag, str):  # comments and processing instructions
            run.append(_escape(child.tail or ""))
            continue
        if local_name(child) in _BLOCKS:
            flush()
            blocks.append(_block(child))
        else:
            run.append(_inline(child))
        run.append(_escape(child.tail or ""))
    flush()
    return blocks


def _block(element: etree._Element) -> str:
    name = local_name(element)
    if name in _LITERAL_BLOCKS:
        body = "".join(element.itertext()).strip("\n")
        fence = "~~~" if "```" in body else "```"
        return f"{fence}\n{body}\n{fence}"
    if name in _ADMONITIONS:
        inner = to_markdown(element)
        label = f"**{_ADMONITIONS[name]}:**"
        inner = f"{label} {inner}" if inner else label
        return "\n".join(f"> {line}" if line else ">" for line in inner.split("\n"))
    if name in _LISTS:
        ordered = _LISTS[name]
        items = [child for child in element if local_name(child) in {"listitem", "member"}]
        rendered = []
        for number, item in enumerate(items, start=1):
            marker = f"{number}. " if ordered else "- "
            body_lines = to_markdown(item).split("\n")
            pad = " " * len(marker)
            lines = [marker + body_lines[0]] + [pad + line if line else ""
                                                for line in body_lines[1:]]
            rendered.append("\n".join(lines))
        return "\n".join(rendered)
    if name == "title":
        return f"**{_SPACES.sub(' ', _inline_content(element)).strip()}**"
    return to_markdown(element)


def _inline_content(element: etree._Element) -> str:
    parts = [_escape(element.text or "")]
    for child in element:
        if isinstance(child.tag, str):
            parts.append(_inline(child))
        parts.append(_escape(child.tail or ""))
    return "".join(parts)


def _inline(element: etree._Element) -> str:
    name = local_name(element)
    if name in _INLINE_CODE:
        code = _SPACES.sub(" ", "".join(element.itertext())).strip()
        if not code:
            return ""
        tick = "``" if "`" in code else "`"
        pad = " " if tick == "``" else ""
        return f"{tick}{pad}{code}{pad}{tick}"
    content = _SPACES.sub(" ", _inline_content(element))
    if name == "link" or name == "ulink":
        href = element.get("{http://www.w3.org/1999/xlink}href") or element.get("url")
        text = content.strip()
        if href:
            return f"[{text}]({href})" if text else f"<{href}>"
        return text
    if name == "emphasis":
        text = content.strip()
        if not text:
            return ""
        strong = element.get("role") in {"bold", "strong"}
        return f"**{text}**" if strong else f"*{text}*"
    return content
