"""The command line, `cdn-contract`: one module per stage's commands, on one group.

Exit codes: 0 success, 1 the check failed (for `--check`: the outputs are stale), 2 bad
input (a message naming the file and line, never a traceback).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from contract import __version__
from contract.cli.common import EXIT_BAD_INPUT
from contract.cli.conform import conform
from contract.cli.generate import generate
from contract.cli.mock import mock
from contract.cli.spec import derive, diff, trace
from contract.cli.validate import proxy, validate
from contract.errors import InputError

__all__ = ["cli", "main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="cdn-contract")
@click.pass_context
def cli(context: click.Context) -> None:
    """The Rackspace CDN API v1.0 docs as an executable contract.

    Two doc variants: 2015-08 (the WADL of 2015-08-31: `hard` defaults to false) and 2016-08,
    the canonical one (the last WADL plus the published reference: `hard` defaults to true,
    20 purges per minute).

    Options may also come from CDN_CONTRACT_<COMMAND>_<OPTION> environment variables (e.g.
    CDN_CONTRACT_MOCK_PORT) and from a [tool.cdn-contract.<command>] table in ./pyproject.toml
    or a [<command>] table in ./cdn-contract.toml; a flag wins over both.

    Shell completion: eval "$(_CDN_CONTRACT_COMPLETE=bash_source cdn-contract)" (zsh_source,
    fish_source for those shells).
    """
    from contract.config import defaults

    context.default_map = defaults(Path.cwd())


for command in (derive, trace, diff, generate, validate, proxy, mock, conform):
    cli.add_command(command)


def main() -> None:
    """Entry point: run the CLI, turning bad input into one line and exit code 2."""
    try:
        cli.main(standalone_mode=False, auto_envvar_prefix="CDN_CONTRACT")
    except InputError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(EXIT_BAD_INPUT)
    except (click.exceptions.Abort, KeyboardInterrupt):
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as error:
        error.show()
        sys.exit(EXIT_BAD_INPUT)
    except click.exceptions.Exit as done:
        sys.exit(done.exit_code)
