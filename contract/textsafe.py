"""Text from a peer, made safe to write where people and programs read it.

A target under test chooses every byte of its answers; the reports quote them. Written as
they came, an ESC sequence recolours or clears the reader's terminal (CSI), sets its title
or plants a link (OSC), a BS or CR overwrites what was printed, a NUL or 0x1b makes a JUnit
file that no XML parser reads, and a newline forges a line of the report. Each writer
passes what it writes through one function here:

- `visible`: the terminal and HTML: every control character, C1 control, DEL and
  bidirectional override shown as its escape (`\\x1b`, `\\u202e`), newlines kept;
- `one_line`: a field that is one line (a message quoting a body): a newline is `\\n`;
- `json_safe`: JSON text as `json.dumps` wrote it, with what it leaves raw (DEL, C1,
  bidi, U+2028/2029) as `\\uXXXX`: the parsed values are unchanged;
- `xml_safe`: XML 1.0 text: what it forbids (0x00-0x08, 0x0b, 0x0c, 0x0e-0x1f, U+FFFE,
  U+FFFF, lone surrogates) and what a terminal obeys, as visible escapes;
- `shell_word`: one word of a command line, quoted so that bash gives back exactly it
  (`$'...'` when it holds a character `'...'` cannot show safely).
"""

from __future__ import annotations

import re
import shlex

# What a terminal or a parser obeys or refuses: C0 controls, DEL, C1 controls, the
# bidirectional marks, overrides and isolates, the line and paragraph separators,
# U+FFFE/U+FFFF and lone surrogates (code point ranges, first and last).
_UNSAFE = ((0x00, 0x1F), (0x7F, 0x9F), (0x200E, 0x200F), (0x2028, 0x202E), (0x2066, 0x2069),
           (0xD800, 0xDFFF), (0xFFFE, 0xFFFF))
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\x1b": "\\x1b"}


def _unsafe(keep: str = "", ranges: tuple[tuple[int, int], ...] = _UNSAFE
            ) -> re.Pattern[str]:
    """A character class of the code points of `ranges`, but those in `keep`."""
    allowed = {ord(char) for char in keep}
    parts = [re.escape(chr(code)) for first, last in ranges for code in range(first, last + 1)
             if code not in allowed and last - first < 64]
    parts += [f"{re.escape(chr(first))}-{re.escape(chr(last))}" for first, last in ranges
              if last - first >= 64]
    return re.compile("[" + "".join(parts) + "]")


_CONTROLS = _unsafe()
_LINES = _unsafe("\n\t")  # what `visible` escapes when lines are kept


def _escape(found: re.Match[str]) -> str:
    char = found.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: str) -> str:
    """`text` with every control character and escape sequence shown as its escape
    (`\\x1b[2J` prints as those six characters), newlines and tabs kept."""
    return _LINES.sub(_escape, text)


def one_line(text: str) -> str:
    """`text` as one line: a newline it holds is shown as `\\n`, never a line of its own."""
    return _CONTROLS.sub(_escape, text)


_JSON_RAW = _unsafe("".join(map(chr, range(0x20))))  # json.dumps escapes C0 itself


def json_safe(text: str) -> str:
    """JSON text (as `json.dumps` writes it, which escapes C0 controls) with DEL, C1
    controls, bidirectional controls and U+2028/2029 as `\\uXXXX` escapes too: the same
    values, and no raw byte a terminal obeys when the file is shown."""
    return _JSON_RAW.sub(lambda found: f"\\u{ord(found.group()):04x}", text)


def xml_safe(text: str) -> str:
    """XML text (a whole document) with every character XML 1.0 forbids, and every
    control a terminal obeys, written as a visible escape: a well-formed document whatever
    the peer sent (what `visible` escapes holds what XML forbids)."""
    return visible(text)


def shell_word(word: str) -> str:
    """`word` quoted for bash: as `shlex.quote` does when it holds only printable
    characters, else as `$'...'` with each control written as `\\xNN` (bash gives back
    the same bytes). A NUL cannot be an argument at all: callers put such a value in a
    file."""
    if not _CONTROLS.search(word):
        return shlex.quote(word)
    out = []
    for char in word:
        if char in "'\\":
            out.append("\\" + char)
        elif _CONTROLS.fullmatch(char):  # as its UTF-8 bytes (a C0 control: its one byte)
            out.append("".join(f"\\x{byte:02x}" for byte in char.encode("utf-8",
                                                                          "surrogatepass")))
        else:
            out.append(char)
    return "$'" + "".join(out) + "'"
