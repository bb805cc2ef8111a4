"""The command line, `cdn-contract`: one module per stage's commands, on one group.

Exit codes: 0 success, 1 the check failed (for `--check`: the outputs are stale), 2 bad
input (a message naming the file and line, never a traceback).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from contract import __version__
from contract.cli.common import EXIT_BAD_INPUT
from contract.cli.conform import conform
from contract.cli.generate import generate
from contract.cli.mock import mock
from contract.cli.spec import derive, diff, trace
from contract.cli.validate import proxy, validate
from contract.errors import InputError

if TYPE_CHECKING:
    from contract.config import Defaults

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
    from contract.config import check_environment, check_known, defaults

    found = defaults(Path.cwd())
    check_known(found, _options(cli))
    check_environment(os.environ, _options(cli))
    _check_shapes(found)
    context.default_map = found.default_map
    context.meta[ORIGINS] = found.origins


ORIGINS = "cdn_contract.origins"  # context.meta: where each configured default came from


def _options(group: click.Group) -> dict[str, Any]:
    """{command: its option names, or a group's own such mapping}: what a config file may set."""
    return {name: _options(command) if isinstance(command, click.Group)
            else {p.name for p in command.params if p.name}
            for name, command in group.commands.items()}


def _check_shapes(found: Defaults) -> None:
    """InputError at a configured list where the option takes one value (`port = [1, 2]`):
    click would hand the list to int() and fail with a traceback."""
    for keys, (path, line) in found.origins.items():
        command: click.Command = cli
        values: Any = found.default_map
        for part in keys[:-1]:
            command = command.commands[part] if isinstance(command, click.Group) else command
            values = values[part]
        parameter = next(p for p in command.params if p.name == keys[-1])
        value = values[keys[-1]]
        if isinstance(value, list) and not (parameter.multiple or parameter.nargs != 1):
            option = keys[-1].replace("_", "-")
            raise InputError(f"{option} = {value!r}: one value is expected, not a list", path,
                             line)


for command in (derive, trace, diff, generate, validate, proxy, mock, conform):
    cli.add_command(command)


def _command_names(context: click.Context) -> list[str]:
    """The (sub)command names of a context below the group: ["generate", "client"]."""
    names = []
    while context.parent is not None:
        names.append(context.info_name or "")
        context = context.parent
    return names[::-1]


def _blamed(error: click.BadParameter) -> str:
    """A bad value's message, blamed on where the value came from: the environment variable
    or the config file's line, not the flag (which nobody typed)."""
    context, parameter = error.ctx, error.param
    source = context.get_parameter_source(parameter.name) if context and parameter and \
        parameter.name else None
    if context is None or parameter is None or parameter.name is None or source is None:
        return error.format_message()
    reason = error.message
    if source is click.core.ParameterSource.ENVIRONMENT:
        names = [parameter.envvar] if isinstance(parameter.envvar, str) else \
            list(parameter.envvar or [])
        names.append(f"{context.auto_envvar_prefix}_{parameter.name.upper()}")
        variable = next((name for name in names if os.environ.get(name)), names[-1])
        return f"environment variable {variable}={os.environ.get(variable, '')!r}: {reason}"
    if source is click.core.ParameterSource.DEFAULT_MAP:
        keys = (*_command_names(context), parameter.name)
        origins = context.find_root().meta.get(ORIGINS, {})
        if keys in origins:
            path, line = origins[keys]
            option = parameter.name.replace("_", "-")
            return str(InputError(f"{option}: {reason}", path, line))
    return error.format_message()


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
    except click.BadParameter as error:
        click.echo(f"error: {_blamed(error)}", err=True)
        sys.exit(EXIT_BAD_INPUT)
    except click.UsageError as error:
        hint = f" (see `{error.ctx.command_path} --help`)" if error.ctx else ""
        click.echo(f"error: {error.format_message()}{hint}", err=True)
        sys.exit(EXIT_BAD_INPUT)
    except click.ClickException as error:
        click.echo(f"error: {error.format_message()}", err=True)
        sys.exit(EXIT_BAD_INPUT)
    except click.exceptions.Exit as done:
        sys.exit(done.exit_code)
