"""The terminal: colour and width for the summary, counts and times for the progress.

Colour is on when standard output is a terminal, unless NO_COLOR is set or --no-color is
given; --color forces it (a CI log that shows ANSI colours). Lines are fitted to the width
`shutil.get_terminal_size` reports: $COLUMNS when set, else the terminal's, else 80 (a pipe,
a CI log). A line cut ends with `…`; the reports hold it whole. The verdict lines are never
cut: CI logs and scripts search them. Progress counts the steps; on a terminal a bar (rich)
shows them with the time left.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO

_SGR = {"fail": "1;31", "warning": "33", "pass": "32", "not observable": "2", "info": "36",
        "DOES NOT CONFORM": "1;31", "NOT SHOWN TO CONFORM": "1;33", "CONFORMS": "1;32",
        "new": "1;31", "fixed": "32", "dim": "2", "bold": "1"}


@dataclass(frozen=True)
class Terminal:
    """How the summary is printed: `width` columns (None: lines as long as they come) and
    ANSI colours or none."""

    width: int | None = None
    colour: bool = False

    def paint(self, text: str, kind: str) -> str:
        """`text` in the colour of `kind` (a status, a verdict word, `new`, `fixed`)."""
        code = _SGR.get(kind)
        return f"\x1b[{code}m{text}\x1b[0m" if self.colour and code else text

    def fit(self, line: str, keep: str = " → ") -> tuple[str, bool]:
        """The line cut to the width (with `…`), and whether it was cut. What follows
        `keep` stays whole when it can (a request line's `→ 404 Not Found`: the URL is
        cut, not the status)."""
        if self.width is None or len(line) <= self.width:
            return line, False
        head, found, tail = line.rpartition(keep)
        room = self.width - len(found + tail) - 1
        if found and room >= self.width // 2:
            return head[:room] + "…" + found + tail, True
        return line[:max(self.width - 1, 1)] + "…", True

    def wrap(self, line: str, indent: int = 6) -> list[str]:
        """A line of words (statement ids, a reason) broken at spaces to the width, the
        lines after the first indented: nothing in it is lost."""
        if self.width is None or len(line) <= self.width:
            return [line]
        import textwrap

        return textwrap.wrap(line, self.width, subsequent_indent=" " * indent,
                             break_long_words=True, break_on_hyphens=False)


def detect(colour: bool | None, stream: object = None) -> Terminal:
    """The terminal standard output is: its width, and colour unless NO_COLOR, --no-color
    (`colour` False) or a pipe; `colour` True forces it."""
    stream = stream or sys.stdout
    tty = bool(getattr(stream, "isatty", lambda: False)())
    on = colour if colour is not None else tty and not os.environ.get("NO_COLOR")
    return Terminal(shutil.get_terminal_size((80, 24)).columns, on)


class Steps:
    """The progress of a run: each line said as it comes; a step's line (`step`) also
    says how far the run is, `[12/46 8 s, about 23 s left]`, once `plan` gave the total.
    The time left is the time per step so far times the steps left: an estimate (the
    schemathesis step is the longest)."""

    def __init__(self, say: Callable[[str], None]) -> None:
        self.say = say
        self.total = 0
        self.done = 0
        self.started = time.monotonic()

    def __call__(self, line: str) -> None:
        self.say(line)

    def plan(self, total: int) -> None:
        self.total = total

    def step(self, line: str) -> None:
        self.done += 1
        self.say(f"{self.where()} {line.strip()}" if self.total else line)

    def close(self) -> None:
        """The run is over (a live display stops)."""

    def where(self) -> str:
        elapsed = time.monotonic() - self.started
        left = max(self.total - self.done, 0) * elapsed / max(self.done, 1)
        return (f"[{self.done}/{self.total} {_seconds(elapsed)}"
                + (f", about {_seconds(left)} left]" if self.done < self.total else "]"))


class LiveSteps(Steps):
    """On a terminal: the same lines, with a bar below them (rich) that shows the steps
    done of the total, the time spent and the time left; gone when the run ends."""

    def __init__(self, stream: TextIO) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        console = Console(file=stream, highlight=False, soft_wrap=True)
        super().__init__(lambda line: console.print(line, markup=False))
        self.bar = Progress(TextColumn("conform"), BarColumn(), MofNCompleteColumn(),
                            TimeElapsedColumn(), TextColumn("left"), TimeRemainingColumn(),
                            console=console, transient=True)
        self.task = self.bar.add_task("conform", total=None)

    def plan(self, total: int) -> None:
        super().plan(total)
        self.bar.update(self.task, total=total)
        self.bar.start()

    def step(self, line: str) -> None:
        self.done += 1
        self.say(line.strip())  # the bar says how far the run is
        self.bar.update(self.task, completed=self.done)

    def close(self) -> None:
        self.bar.stop()


def _seconds(value: float) -> str:
    """`8 s`, `2 min 05 s`."""
    whole = round(value)
    return f"{whole} s" if whole < 60 else f"{whole // 60} min {whole % 60:02d} s"
