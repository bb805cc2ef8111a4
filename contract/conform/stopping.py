"""A run that stops before its end still leaves its reports.

CI reads the report files, not the terminal: a run cut short by an interrupt (Ctrl-C,
SIGTERM from a CI's cancel), by a target that stops answering, or by a bug of ours writes
every report it was asked for, with the variants it finished and a `Stop` saying where it
stopped and why; the command exits 2 (nothing could be judged whole). A bug of ours is one
line and the file its traceback went to, never a traceback on the terminal.
"""

from __future__ import annotations

import re
import signal
import tempfile
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from contract.errors import InputError


class Terminated(BaseException):
    """SIGTERM arrived: raised in the main thread, like KeyboardInterrupt for SIGINT."""


@contextmanager
def terminable() -> Iterator[None]:
    """SIGTERM raises `Terminated` while inside (the run unwinds: its services are deleted,
    its reports written), then the handler before is back."""
    def stop(signum: int, frame: Any) -> None:
        raise Terminated()

    try:
        before = signal.signal(signal.SIGTERM, stop)
    except ValueError:  # not the main thread: a signal cannot be handled here
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, before)


@dataclass(frozen=True)
class Stop:
    """Where a run stopped (the last step it began) and why."""

    where: str
    why: str
    traceback: Path | None = None  # where the traceback of a bug of ours was saved

    def line(self) -> str:
        return f"STOPPED during {self.where or 'the preflight'}: {self.why}; not judged whole"

    def as_json(self) -> dict[str, Any]:
        return {"where": self.where, "why": self.why,
                "traceback": str(self.traceback) if self.traceback else None}

    def junit(self, suites: ET.Element) -> None:
        """A suite of one test case in error: what a CI's test view shows first."""
        suite = ET.SubElement(suites, "testsuite", name="cdn run", tests="1", failures="0",
                              errors="1", skipped="0", time="0")
        case = ET.SubElement(suite, "testcase", classname="cdn.run", name="the run")
        ET.SubElement(case, "error", message=self.line()).text = self.why
        suites.set("errors", str(int(suites.get("errors", "0")) + 1))
        suites.set("tests", str(int(suites.get("tests", "0")) + 1))


def stop_of(error: BaseException, where: str, shown: Callable[[str], str]) -> Stop:
    """The `Stop` an exception means; a bug of ours has its traceback saved to a file
    (its text through `shown`, which masks the secrets)."""
    if isinstance(error, KeyboardInterrupt):
        return Stop(where, "interrupted (SIGINT)")
    if isinstance(error, Terminated):
        return Stop(where, "terminated (SIGTERM)")
    if isinstance(error, InputError):
        return Stop(where, shown(str(error)))
    saved = save_traceback(error, shown)
    return Stop(where, shown(f"internal error of cdn-contract ({type(error).__name__}: "
                             f"{error}); traceback saved to {saved}"), saved)


def save_traceback(error: BaseException, shown: Callable[[str], str]) -> Path:
    """The traceback of `error`, its secrets masked, in a file of its own."""
    text = "".join(traceback.format_exception(error))
    with tempfile.NamedTemporaryFile("w", prefix="cdn-contract-traceback-", suffix=".txt",
                                     delete=False, encoding="utf-8") as file:
        file.write(shown(text))
    return Path(file.name)


class Whereabouts:
    """The progress lines of a run, passed on as `shown` gives them (the secrets masked,
    controls escaped), and where the run is: the last step begun and the last line
    within it (where a run that stops stopped)."""

    def __init__(self, say: Callable[[str], None], shown: Callable[[str, bool], str]):
        self.say, self.shown = say, shown
        self.step = self.detail = ""

    @property
    def where(self) -> str:
        return self.step + (f" (after: {self.detail})" if self.detail else "")

    def __call__(self, line: str) -> None:
        line = self.shown(line, True)
        text = re.sub(r"^\[[^\]]*\] ", "", line.strip())  # a step's `[3/46 2 s]`
        if text.startswith("variant "):  # a step: "variant 2016-08: checks"
            self.step, self.detail = text, ""
        else:  # a line within it: a check done, a wait
            self.detail = text
        self.say(line)
