"""The code generators' commands: `generate server` and `generate client` (spec/ → generated/)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click

from contract.cli.common import VARIANT_CHOICE, chosen, write_or_check
from contract.spec.variants import GENERATED_DIR, SPEC_DIR, VARIANTS


@click.group()
def generate() -> None:
    """Render code from the spec with jinja2 into generated/ (server, client).

    \b
    Examples:
        cdn-contract generate server && cdn-contract generate client
        cdn-contract generate client --variant 2016-08 --out /tmp/client
        pip install /tmp/client/cdn-client-2016-08
        cdn-contract generate client --check   # exit 1 if generated/client/ is stale
    """


def _generate_options(what: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """The options every `generate` command takes; its output goes to generated/<what>/."""
    def decorate(command: Callable[..., None]) -> Callable[..., None]:
        for option in reversed([
            click.option("--variant", type=VARIANT_CHOICE, default="all", show_default=True,
                         help="Which variant's spec to render."),
            click.option("--out", type=click.Path(path_type=Path, file_okay=False),
                         default=GENERATED_DIR / what, show_default=f"generated/{what}/",
                         help="Where the files go (made if missing)."),
            click.option("--check", is_flag=True,
                         help="Write nothing; exit 1 if --out is stale."),
            click.option("-q", "--quiet", is_flag=True, help="Print only errors."),
        ]):
            command = option(command)
        return generate.command(what)(command)
    return decorate


@_generate_options("server")
def generate_server(variant: str, out: Path, check: bool, quiet: bool) -> None:
    """The stub server of each variant: generated/server/cdn_<variant>/ (route table, one
    handler per operation, request checks as plain Python). Run it with `cdn-contract mock`.

    \b
    Example: after changing spec/
        cdn-contract generate server && cdn-contract mock --port 8080
    """
    from contract.codegen.server import render_server

    _generate(render_server, "server", variant, out, check, quiet)


@_generate_options("client")
def generate_client(variant: str, out: Path, check: bool, quiet: bool) -> None:
    """The Python client of each variant: an installable distribution
    generated/client/cdn-client-<variant>/ (`pip install` it; only httpx at run time) with
    sync and async clients, dataclass models and typed errors.

    \b
    Example:
        cdn-contract generate client --variant 2016-08 --out /tmp/client
        pip install /tmp/client/cdn-client-2016-08
    """
    from contract.codegen.client import render_client

    _generate(render_client, "client", variant, out, check, quiet)


def _generate(render: Callable[[Path], dict[str, str]], what: str, variant: str, out: Path,
              check: bool, quiet: bool) -> None:
    """Render each chosen variant's spec, then write the files or check them."""
    files: dict[str, str] = {}
    for name in chosen(variant):
        files.update(render(SPEC_DIR / VARIANTS[name].spec_name))
    write_or_check(files, out, GENERATED_DIR / what, check, quiet,
                    f"cdn-contract generate {what}", "make generated")
