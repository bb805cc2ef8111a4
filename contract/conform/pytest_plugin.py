"""pytest entry point: `pytest --cdn-base-url URL --pyargs contract.conform.test_contract`.

Registered as a pytest11 plugin, so the options exist wherever cdn-contract is installed.
Its options are `conform`'s, each as `--cdn-<option>` (`--cdn-token`, `--cdn-checks`,
`--cdn-allow-unobserved`, `--cdn-json PATH`, ...), read by click as the command reads them
(the same defaults, choices and environment variables) and turned into the same run
(`contract.cli.conform.configure`): one target and one set of options give the command and
pytest one verdict and one exit status. Bad options, no target, or a target that fails the
preflight stop the session with exit status 2, as the command does.

The suite runs once per session (fixture `cdn_run`); `contract.conform.test_contract` turns
each statement of each variant into one test, so a CI sees which statement failed by name.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

import click
import pytest

from contract.cli.common import EXIT_BAD_INPUT
from contract.cli.conform import Setup, configure, conform
from contract.errors import InputError

if TYPE_CHECKING:
    from contract.conform.report import Run
    from contract.conform.runner import VariantReport

BASE_URL = "CDN_CONTRACT_BASE_URL"
SKIPPED = {"quiet", "color"}  # progress, colour: pytest's own -q/-s/--color say them


def _options() -> list[click.Option]:
    return [p for p in conform.params if isinstance(p, click.Option) and p.name not in SKIPPED]


def _flag(option: click.Option) -> str:
    return "--cdn-" + max(option.opts, key=len).lstrip("-")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("cdn-contract", "Rackspace CDN API conformance (`cdn-contract "
                            "conform`'s options; see `cdn-contract conform --help`)")
    for option in _options():
        about = (option.help or "").split(". ")[0]
        if option.is_flag:
            group.addoption(_flag(option), action="store_true", help=about)
        else:
            group.addoption(_flag(option), action="append" if option.multiple else "store",
                            help=about)


@dataclass
class Conformance:
    """The session's run: what the options asked for and what it found."""

    setup: Setup
    run: Run


def _arguments(config: pytest.Config) -> list[str]:
    """The options given, as `conform`'s command line."""
    arguments = []
    for option in _options():
        value = config.getoption(_flag(option).removeprefix("--").replace("-", "_"))
        flag = max(option.opts, key=len)
        if option.is_flag:
            arguments += [flag] if value else []
        elif option.multiple:
            arguments += [word for item in value or [] for word in (flag, item)]
        elif value is not None:
            arguments += [flag, value]
    return arguments


@pytest.fixture(scope="session")
def cdn_run(pytestconfig: pytest.Config) -> Conformance:
    """The conformance run of --cdn-base-url (once per session), its reports written to
    the paths given (--cdn-json, --cdn-html, --cdn-junit, --cdn-har)."""
    if not pytestconfig.getoption("cdn_base_url") and not os.environ.get(BASE_URL):
        # exit 2, as `conform` without --base-url: skipped, every test would pass a CI
        # that forgot the target
        pytest.exit(f"error: no --cdn-base-url (or ${BASE_URL}) given: nothing to check",
                    returncode=EXIT_BAD_INPUT)
    try:
        with conform.make_context("conform", _arguments(pytestconfig),
                                  auto_envvar_prefix="CDN_CONTRACT_CONFORM") as context:
            setup = configure(context.params)
            finished = setup.run()
    except click.ClickException as error:
        pytest.exit(f"error: {error.format_message()}", returncode=EXIT_BAD_INPUT)
    except InputError as error:
        pytest.exit(f"error: {error}", returncode=EXIT_BAD_INPUT)
    setup.write(finished)
    return Conformance(setup, finished)


@pytest.fixture(scope="session")
def cdn_conformance(cdn_run: Conformance) -> VariantReport:
    """The report of the first variant asked for (the only one unless --cdn-variant all)."""
    return cdn_run.run.reports[0]
