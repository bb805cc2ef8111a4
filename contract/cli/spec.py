"""The spec's commands: `derive` (the WADLs and overlays → spec/), `trace` (spec/ → docs/)
and `diff` (two specs → the changes between them)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from contract.cli.common import EXIT_FAILED, EXIT_OK, VARIANT_CHOICE, chosen, write_or_check
from contract.errors import InputError
from contract.reports import DIFF as DIFF_FORMATS
from contract.spec.variants import IN_CHECKOUT, SPEC_DIR, VARIANTS, require_shared


@click.command()
@click.option("--variant", type=VARIANT_CHOICE, default="all", show_default=True,
              help="Which doc variant to derive.")
@click.option("--wadl", type=click.Path(path_type=Path, dir_okay=False),
              help="Read this WADL instead of the variant's own in ../shared/reference "
                   "(needs a single --variant).")
@click.option("--overlay", type=click.Path(path_type=Path, dir_okay=False),
              help="Apply this Overlay instead of spec/overlays/<variant>.overlay.yaml "
                   "(needs a single --variant; the common overlay, and the operations "
                   "of the variant's pages, are always applied).")
@click.option("--out", type=click.Path(path_type=Path, file_okay=False),
              default=SPEC_DIR if IN_CHECKOUT else Path("spec"), show_default="spec/",
              help="Folder to write the documents to.")
@click.option("--check", is_flag=True,
              help="Write nothing; exit 1 if the files in --out differ from what would be "
                   "generated.")
@click.option("-q", "--quiet", is_flag=True, help="Print only errors.")
def derive(variant: str, wadl: Path | None, overlay: Path | None, out: Path, check: bool,
           quiet: bool) -> None:
    """Derive the OpenAPI 3.1 documents from the WADL (and overlays) into spec/.

    Writes cdn-<variant>.openapi.yaml and cdn-<variant>.discrepancies.md per variant.
    Nothing is written unless every selected variant derives and validates.

    \b
    Examples:
        cdn-contract derive                  # both variants into spec/
        cdn-contract derive --check          # exit 1 if spec/ is stale (CI)
        cdn-contract derive --variant 2016-08 --wadl my.wadl --out /tmp/spec
    """
    from contract.spec.derive import inputs_for, render_all

    if (wadl or overlay) and variant == "all":
        raise click.UsageError("--wadl and --overlay need a single --variant (2015-08 or "
                               "2016-08)")
    if wadl is None:
        require_shared()
    files = render_all([inputs_for(VARIANTS[name], wadl, overlay) for name in chosen(variant)])
    write_or_check(files, out, SPEC_DIR, check, quiet, "cdn-contract derive", "make spec")




def _spec_argument(context: click.Context, parameter: click.Parameter, value: str) -> Path:
    """A document's path, or a variant's name for the spec this installation carries."""
    if Path(value).exists():
        return Path(value)
    if value in VARIANTS:
        return SPEC_DIR / VARIANTS[value].spec_name
    raise InputError(f"no such file, and not a variant this installation knows (known: "
                     f"{', '.join(VARIANTS)})", value)




@click.command()
@click.argument("old", callback=_spec_argument)
@click.argument("new", callback=_spec_argument)
@DIFF_FORMATS.option(default="table")
@click.option("--fail-on", type=click.Choice(["breaking", "any", "none"]), default="breaking",
              show_default=True, help="Exit 1 when a change of this kind is found (breaking: "
              "breaking for clients or for servers).")
def diff(old: Path, new: Path, output: str, fail_on: str) -> None:
    """Compare two OpenAPI 3.x documents (YAML or JSON) and classify each change.

    Each change is judged for clients (does a client of OLD still work against NEW?) and for
    servers (does a server built to OLD still satisfy NEW?). A changed default is breaking.

    OLD and NEW are files, or the name of a variant (2015-08, 2016-08) for the spec this
    installation carries.

    Example: cdn-contract diff 2015-08 spec/cdn-2016-08.openapi.yaml
    """
    from contract.diff import compare
    from contract.diff.load import load_openapi
    from contract.diff.report import trips

    changes = compare(load_openapi(old), load_openapi(new))
    click.echo(DIFF_FORMATS.render(output, changes))
    sys.exit(EXIT_FAILED if trips(changes, fail_on) else EXIT_OK)




@click.command()
@click.option("--out", type=click.Path(path_type=Path, file_okay=False),
              default=SPEC_DIR.parent / "docs", show_default="docs/",
              help="Where the pages go.")
@click.option("--check", is_flag=True, help="Write nothing; exit 1 if the pages are stale.")
@click.option("--strict", is_flag=True, help="Also exit 1 if a MUST statement lacks a "
              "spec element, a conformance check or a test.")
def trace(out: Path, check: bool, strict: bool) -> None:
    """Write the traceability matrix (docs/traceability.md) and the variant diff
    (docs/variants.md) from spec/, the code and the tests, and the command-line reference
    (docs/cli.md) from the commands' own help.

    \b
    Example: after changing the spec, a check, a test or an option
        cdn-contract trace && git add docs/
    """
    from contract.cli.reference import cli_reference
    from contract.outputs import stale_files, write_files
    from contract.trace.build import render_pages

    if not IN_CHECKOUT:
        raise InputError("trace maps the code, the tests and the docs of a checkout: run it "
                         "in a clone of cdn-contract (an installed copy carries the specs, "
                         "not the tests)")
    pages, rows = render_pages()
    pages["cli.md"] = cli_reference()
    missing = [r for r in rows if r.gaps and r.statement.level == "MUST"]
    if strict:
        for row in missing:
            click.echo(f"{row.statement.id} (MUST): {', '.join(row.gaps)}", err=True)
    elif missing:
        click.echo(f"{len(missing)} MUST statement(s) with gaps: see docs/traceability.md",
                   err=True)
    stale = stale_files(pages, out)
    if check:
        for path in stale:
            click.echo(f"stale: {path}; run `make docs`", err=True)
        if not stale:
            click.echo(f"up to date: {len(pages)} files in {out}")
    else:
        for path in write_files(pages, out):
            click.echo(f"{path}: written")
    sys.exit(EXIT_FAILED if (check and stale) or (strict and missing) else EXIT_OK)
