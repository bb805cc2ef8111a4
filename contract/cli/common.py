"""What the commands share: exit codes, the `--variant` choice, writing or checking outputs,
and the options of every server about careless and hostile clients."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import click

from contract.spec.variants import VARIANTS

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2
VARIANT_CHOICE = click.Choice([*VARIANTS, "all"])
# A timeout option's range: long enough for any real client, short enough to end (an
# unbounded one would be a hang, and past ~1e308 not even a number)
SECONDS = click.FloatRange(min=0.01, max=3600)


def chosen(variant: str) -> list[str]:
    """The variant names a `--variant` value stands for (`all`: both)."""
    return list(VARIANTS) if variant == "all" else [variant]


def write_or_check(files: dict[str, str], out: Path, default: Path, check: bool,
                    quiet: bool, command: str, remedy: str) -> None:
    """Write generated files atomically, or with --check exit 1 naming each stale one and
    the command that brings them up to date (with `--out` when they are not in `default`)."""
    from contract.outputs import stale_files, write_files

    if check:
        stale = stale_files(files, out)
        for path in stale:
            click.echo(f"stale: {path} differs from what `{command}` generates", err=True)
        if stale:
            fix = f"`{remedy}` (or `{command}`)" if out.resolve() == default.resolve() \
                else f"`{command} --out {out}`"
            click.echo(f"run {fix} and commit the result", err=True)
            sys.exit(EXIT_FAILED)
        if not quiet:
            click.echo(f"up to date: {len(files)} files in {out}")
        return
    changed = set(write_files(files, out))
    if not quiet:
        for name in files:
            state = "written" if out / name in changed else "unchanged"
            click.echo(f"{out / name}: {state}")


def client_limits(command: Callable[..., None]) -> Callable[..., None]:
    """The options of every server command about careless and hostile clients."""
    for option in reversed([
        click.option("--header-timeout", type=SECONDS, default=10.0,
                     show_default=True, help="Seconds a client has to send a whole request "
                     "once it began (or to begin one on a new connection); then 408 and "
                     "close."),
        click.option("--idle-timeout", type=SECONDS, default=60.0,
                     show_default=True, help="Seconds a keep-alive connection may wait for "
                     "its next request; then it is closed."),
        click.option("--max-connections", type=click.IntRange(min=1), default=1024,
                     show_default=True, help="Connections open at once; past this a new one "
                     "takes the place of the longest-idle one (of the client holding the "
                     "most), or, with none idle, gets 503 with the error body.")]):
        command = option(command)
    return command
