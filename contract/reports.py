"""Report formats: one registry for the commands that print reports (validate, diff,
conform), and how a command offers them.

Each `Format` names its renderer as `module:function`, imported when a report is rendered,
so the command line reads this registry without loading the validators or schemathesis.
Adding a format is one `Format` below and its renderer: `--format` (on standard output) or,
for `conform`, one `--<name> PATH` option per file format follows from it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

import click

T = TypeVar("T")
Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


@dataclass(frozen=True)
class Format(Generic[T]):
    name: str
    renderer: str  # "module:function", a function of the report's value to text
    about: str  # what it is for, as --help says it

    def render(self, value: T) -> str:
        module, _, function = self.renderer.partition(":")
        text: str = getattr(importlib.import_module(module), function)(value)
        return text


class Formats(Generic[T]):
    """The formats of one kind of report, in the order --help lists them."""

    def __init__(self, *formats: Format[T]):
        self.by_name = {found.name: found for found in formats}

    @property
    def names(self) -> list[str]:
        return list(self.by_name)

    def render(self, name: str, value: T) -> str:
        return self.by_name[name].render(value)

    def option(self, default: str) -> Decorator:
        """`--format NAME`: the report on standard output."""
        about = "; ".join(f"{f.name}: {f.about}" for f in self.by_name.values())
        return click.option("--format", "output", type=click.Choice(self.names),
                            default=default, show_default=True,
                            help=f"Report format, on standard output ({about}).")

    def file_options(self, *names: str) -> Decorator:
        """One `--<name> PATH` option per format named: write the report there too. The
        command takes them as keyword arguments named after the formats (`**paths`)."""
        def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
            for name in reversed(names):
                command = click.option(
                    f"--{name}", name, type=click.Path(path_type=Path, dir_okay=False),
                    help=f"Write the report as {self.by_name[name].about}.")(command)
            return command
        return decorate

    def written(self, value: T, paths: dict[str, Path | None]) -> dict[Path, str]:
        """The files the `--<name> PATH` options ask for (format name → path or None)."""
        return {path: self.render(name, value) for name, path in paths.items()
                if path is not None}


VALIDATE: Formats[Any] = Formats(
    Format("table", "contract.validation.report:render_table",
           "one line per exchange and violation"),
    Format("json", "contract.validation.report:render_json", "every verdict, for programs"),
    Format("junit", "contract.validation.report:render_junit",
           "JUnit XML, a test case per exchange and variant"))
DIFF: Formats[Any] = Formats(
    Format("table", "contract.diff.report:render_table", "one line per change"),
    Format("markdown", "contract.diff.report:render_markdown", "a table for a pull request"),
    Format("json", "contract.diff.report:render_json", "every change, for programs"))
CONFORM: Formats[Any] = Formats(
    Format("summary", "contract.conform.report:summary", "the verdicts, as printed"),
    Format("junit", "contract.conform.report:as_junit", "JUnit XML"),
    Format("json", "contract.conform.report:as_json", "JSON"),
    Format("html", "contract.conform.report:as_html", "one self-contained HTML page"),
    Format("har", "contract.conform.report:as_har", "HAR 1.2: every exchange of the run "
           "(secrets masked; `validate` reads it back, a browser's devtools open it)"))

