"""The `cdn-contract` command line. Exit codes: 0 success, 1 the check failed (for `--check`:
`spec/` is stale), 2 bad input (a message naming the file and line, never a traceback)."""

from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import click

from contract import __version__
from contract.errors import InputError
from contract.reports import CONFORM as CONFORM_FORMATS
from contract.reports import DIFF as DIFF_FORMATS
from contract.reports import VALIDATE as VALIDATE_FORMATS
from contract.variants import GENERATED_DIR, IN_CHECKOUT, SPEC_DIR, VARIANTS, require_shared

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2
_VARIANT_CHOICE = click.Choice([*VARIANTS, "all"])


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


@cli.command()
@click.option("--variant", type=_VARIANT_CHOICE, default="all", show_default=True,
              help="Which doc variant to derive.")
@click.option("--wadl", type=click.Path(path_type=Path, dir_okay=False),
              help="Read this WADL instead of the variant's own in ../shared/reference "
                   "(needs a single --variant).")
@click.option("--overlay", type=click.Path(path_type=Path, dir_okay=False),
              help="Apply this Overlay instead of spec/overlays/<variant>.overlay.yaml "
                   "(needs a single --variant; the common overlay is always applied).")
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
    """
    from contract.derive import inputs_for, render_all

    if (wadl or overlay) and variant == "all":
        raise click.UsageError("--wadl and --overlay need a single --variant (2015-08 or "
                               "2016-08)")
    if wadl is None:
        require_shared()
    files = render_all([inputs_for(VARIANTS[name], wadl, overlay) for name in _chosen(variant)])
    _write_or_check(files, out, SPEC_DIR, check, quiet, "cdn-contract derive", "make spec")


def _write_or_check(files: dict[str, str], out: Path, default: Path, check: bool,
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


def _client_limits(command: Callable[..., None]) -> Callable[..., None]:
    """The options of every server command about careless and hostile clients."""
    for option in reversed([
        click.option("--header-timeout", type=click.FloatRange(min=0.01), default=10.0,
                     show_default=True, help="Seconds a client has to send a whole request "
                     "once it began (or to begin one on a new connection); then 408 and "
                     "close."),
        click.option("--idle-timeout", type=click.FloatRange(min=0.01), default=60.0,
                     show_default=True, help="Seconds a keep-alive connection may wait for "
                     "its next request; then it is closed."),
        click.option("--max-connections", type=click.IntRange(min=1), default=1024,
                     show_default=True, help="Connections open at once; past this a new one "
                     "gets 503 with the error body and is closed.")]):
        command = option(command)
    return command


@cli.command()
@click.argument("files", nargs=-1, required=True,
                type=click.Path(path_type=Path, dir_okay=False))
@click.option("--variant", type=_VARIANT_CHOICE, default="all", show_default=True,
              help="Validate under this doc variant, or under each.")
@VALIDATE_FORMATS.option(default="table")
@click.option("--engine", type=click.Choice(["compiled", "openapi-core"]), default="compiled",
              show_default=True, help="Validate with the checks compiled from the spec, or "
              "with openapi-core (the reference implementation; much slower).")
def validate(files: tuple[Path, ...], variant: str, output: str, engine: str) -> None:
    """Validate recorded HTTP exchanges against the contract.

    FILES are raw HTTP messages (a request file, then its response file; a `.json` file after
    a message is that message's body, as in the docs' samples), curl -v transcripts, or HAR
    1.2 files. Exit 0 when every exchange is valid under every selected variant, 1 on
    violations, 2 on bad input. Prints its throughput on standard error.

    To record traffic: `curl -sv URL > file 2>&1` (curl never writes the request body it
    sends, so that part is noted as not recorded and not judged; the response body is in
    the file), a HAR saved from the browser's developer tools (it has both bodies), or
    `cdn-contract proxy` in front of the implementation, which validates live.
    """
    from contract.recorded import exchanges_from_files
    from contract.validation import validate_exchange
    from contract.validation.report import ExchangeResult

    exchanges = exchanges_from_files(files)
    if not exchanges:
        raise InputError("no exchanges in the given files")
    started = time.perf_counter()
    results = [ExchangeResult(e, [validate_exchange(e, v, engine) for v in _chosen(variant)])
               for e in exchanges]
    took = time.perf_counter() - started
    click.echo(f"validated {len(exchanges):,} exchanges under {', '.join(_chosen(variant))} "
               f"({engine}) in {took:.2f} s: {len(exchanges) / max(took, 1e-9):,.0f} "
               "exchanges/s", err=True)
    click.echo(VALIDATE_FORMATS.render(output, results))
    sys.exit(EXIT_OK if all(r.valid for r in results) else EXIT_FAILED)


@cli.command()
@click.option("--upstream", required=True, help="Base URL of the implementation to front, "
              "e.g. http://127.0.0.1:9000.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True)
@click.option("--variant", type=click.Choice(list(VARIANTS)), default="2016-08",
              show_default=True, help="The doc variant to validate against.")
@click.option("--log", "log_path", type=click.Path(path_type=Path, dir_okay=False),
              help="Append violations here as JSON lines (default: standard error).")
@click.option("--strict", is_flag=True, help="Answer invalid requests 400 (not forwarded) "
              "and replace invalid responses with a 502 listing the violations.")
@click.option("--timeout", type=click.FloatRange(min=0.01), default=30.0, show_default=True,
              help="Seconds to wait for the upstream before answering 504.")
@click.option("--engine", type=click.Choice(["compiled", "openapi-core"]), default="compiled",
              show_default=True, help="Validate with the checks compiled from the spec, or "
              "with openapi-core (the reference implementation; much slower).")
@click.option("--rewrite-location", is_flag=True, help="Make a Location header that points "
              "at the upstream point at the proxy instead.")
@click.option("--buffer-limit", type=click.IntRange(min=0), default=8 * 1024 * 1024,
              show_default=True, help="Bytes of a response body buffered to validate it; a "
              "longer body is streamed through, its status and headers validated, not it.")
@_client_limits
def proxy(upstream: str, host: str, port: int, variant: str, log_path: Path | None,
          strict: bool, timeout: float, engine: str, rewrite_location: bool,
          buffer_limit: int, header_timeout: float, idle_timeout: float,
          max_connections: int) -> None:
    """Forward traffic to an implementation and validate every exchange.

    Exchanges pass through unchanged (the upstream's status line, header names and order,
    body; plus an X-Contract-Violations count header) unless --strict. Upstream down: 502;
    upstream too slow: 504; both with a JSON error body. Only http:// upstreams.
    """
    from contract.http.serving import ServerLimits
    from contract.proxy import ValidatingProxy, serve
    from contract.proxy.log import ViolationLog

    if not upstream.startswith("http://"):
        raise click.BadParameter(f"{upstream!r} is not an http:// URL", param_hint="--upstream")
    app = ValidatingProxy(upstream, variant, strict=strict, log=ViolationLog(log_path),
                          timeout=timeout, engine=engine, rewrite_location=rewrite_location,
                          buffer_limit=buffer_limit,
                          limits=ServerLimits(header_timeout, idle_timeout, max_connections))
    serve(app, host, port, lambda url: click.echo(
        f"validating proxy: {url} -> {upstream} (variant {variant}, engine {engine}"
        f"{', strict' if strict else ''})", err=True))


def _spec_argument(context: click.Context, parameter: click.Parameter, value: str) -> Path:
    """A document's path, or a variant's name for the spec this installation carries."""
    if value in VARIANTS and not Path(value).exists():
        return SPEC_DIR / VARIANTS[value].spec_name
    return Path(value)


@cli.command()
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


@cli.command()
@click.option("--out", type=click.Path(path_type=Path, file_okay=False),
              default=SPEC_DIR.parent / "docs", show_default="docs/")
@click.option("--check", is_flag=True, help="Write nothing; exit 1 if the pages are stale.")
@click.option("--strict", is_flag=True, help="Also exit 1 if a MUST statement lacks a "
              "spec element, a conformance check or a test.")
def trace(out: Path, check: bool, strict: bool) -> None:
    """Write the traceability matrix (docs/traceability.md) and the variant diff
    (docs/variants.md) from spec/, the code and the tests."""
    from contract.outputs import stale_files, write_files
    from contract.trace.build import render_pages

    if not IN_CHECKOUT:
        raise InputError("trace maps the code, the tests and the docs of a checkout: run it "
                         "in a clone of cdn-contract (an installed copy carries the specs, "
                         "not the tests)")
    pages, rows = render_pages()
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


@cli.group()
def generate() -> None:
    """Render code from the spec with jinja2 into generated/ (server, client)."""


def _generate_options(what: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """The options every `generate` command takes; its output goes to generated/<what>/."""
    def decorate(command: Callable[..., None]) -> Callable[..., None]:
        for option in reversed([
            click.option("--variant", type=_VARIANT_CHOICE, default="all", show_default=True),
            click.option("--out", type=click.Path(path_type=Path, file_okay=False),
                         default=GENERATED_DIR / what, show_default=f"generated/{what}/"),
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
    handler per operation, request checks as plain Python). Run it with `cdn-contract mock`."""
    from contract.codegen.server import render_server

    _generate(render_server, "server", variant, out, check, quiet)


@_generate_options("client")
def generate_client(variant: str, out: Path, check: bool, quiet: bool) -> None:
    """The Python client of each variant: an installable distribution
    generated/client/cdn-client-<variant>/ (`pip install` it; only httpx at run time) with
    sync and async clients, dataclass models and typed errors."""
    from contract.codegen.client import render_client

    _generate(render_client, "client", variant, out, check, quiet)


def _generate(render: Callable[[Path], dict[str, str]], what: str, variant: str, out: Path,
              check: bool, quiet: bool) -> None:
    """Render each chosen variant's spec, then write the files or check them."""
    files: dict[str, str] = {}
    for name in _chosen(variant):
        files.update(render(SPEC_DIR / VARIANTS[name].spec_name))
    _write_or_check(files, out, GENERATED_DIR / what, check, quiet,
                    f"cdn-contract generate {what}", "make generated")


@cli.command()
@click.option("--variant", type=click.Choice(list(VARIANTS)), default="2016-08",
              show_default=True, help="Which doc variant to behave as.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True)
@click.option("--db", default=":memory:", show_default=True,
              help="Where the state lives: a SQLite file (created if missing; survives "
                   "restarts), :memory:, or postgresql://USER@HOST:PORT/DB to share services, "
                   "jobs and the rate limit with other replicas on the same database.")
@click.option("--time-scale", type=click.FloatRange(min=0, min_open=True), default=1.0,
              show_default=True, help="Multiply every documented duration (purge 10 min, "
              "invalidation 60 s, deploys, the rate-limit window) by this.")
@click.option("--tokens", multiple=True, metavar="TOKEN[=PROJECT][,...]",
              help="Accept only these X-Auth-Token values (default: any non-empty token). "
              "TOKEN=PROJECT is valid for that project only (401 elsewhere, and not for "
              "/__mock__/reset or /__mock__/jobs); a bare TOKEN is valid for every project.")
@click.option("--no-rate-limit", is_flag=True, help="Do not apply the 2016-08 purge rate "
              "limit (S11).")
@click.option("--latency-ms", type=click.IntRange(min=0), default=0, show_default=True,
              help="Delay every API response by this much.")
@click.option("--error-rate", type=click.FloatRange(0, 1), default=0.0, show_default=True,
              help="Answer this share of API requests 503, for client resilience tests.")
@click.option("--seed", type=int, help="Seed for --error-rate, for reproducible runs.")
@click.option("--cors", is_flag=True, help="Answer CORS preflights and allow any origin.")
@click.option("-q", "--quiet", is_flag=True, help="No log line per request.")
@_client_limits
@click.option("--job-retention", type=click.FloatRange(min=0), default=3600.0,
              show_default=True, help="Seconds a finished purge job stays listed in "
              "/__mock__/jobs (analytics keep counting it).")
@click.option("--max-jobs", type=click.IntRange(min=1), default=100_000, show_default=True,
              help="Purge jobs kept at most, finished or not: a bound (the oldest "
              "go first, a few more at once than needed so that pruning stays rare).")
@click.option("--edge-port", type=click.IntRange(0, 65535), default=0,
              help="Where the CDN edge serves the services' assets, routed by Host (default: "
              "any free port; the startup line and /__mock__/health say which).")
@click.option("--no-edge", is_flag=True, help="Serve the API only, no CDN edge.")
@click.option("--origin-port", "origin_ports", multiple=True, metavar="PORT=LOCAL",
              help="Reach origins documented on PORT (80 or 443) on LOCAL instead, e.g. "
              "80=18080 for a test origin on loopback; repeatable.")
@click.option("--edge-cache-bytes", type=click.IntRange(min=1024), default=256 * 1024 * 1024,
              show_default=True, help="The most the edge cache holds (bodies and heads); "
              "past it the least recently used objects are evicted.")
def mock(variant: str, host: str, port: int, db: str, time_scale: float,
         tokens: tuple[str, ...], no_rate_limit: bool, latency_ms: int, error_rate: float,
         seed: int | None, cors: bool, quiet: bool, header_timeout: float,
         idle_timeout: float, max_connections: int, job_retention: float,
         max_jobs: int, edge_port: int, no_edge: bool,
         origin_ports: tuple[str, ...], edge_cache_bytes: int) -> None:
    """Serve a stateful stub of the API, generated from the spec of one variant.

    Logs one line per request (method, path, status, ms) to standard error. Besides the API:
    GET /__mock__/health, POST /__mock__/reset, GET /__mock__/jobs (service_id, status,
    limit, marker), and Swagger UI at /docs. To force a documented response, send `Prefer:
    code=401` (any status the operation documents: every one documents 401; a status it does
    not document is a 400 that lists those it does) or `Prefer: example=NAME`.
    """
    from contract.http.serving import ServerLimits
    from contract.mock.serve import create_app, serve
    from contract.mock.settings import MockSettings
    from contract.mock.state.store import redacted

    given = [t.strip() for group in tokens for t in group.split(",") if t.strip()]
    scoped = {token.strip(): project.strip() for token, _, project
              in (t.partition("=") for t in given) if project.strip()}
    accepted = frozenset(t.partition("=")[0].strip() for t in given)
    settings = MockSettings(db=db, tokens=accepted or None, token_projects=scoped,
                            time_scale=time_scale,
                            rate_limit=not no_rate_limit, latency_ms=latency_ms,
                            error_rate=error_rate, seed=seed, cors=cors, quiet=quiet,
                            limits=ServerLimits(header_timeout, idle_timeout, max_connections),
                            job_retention=job_retention, max_jobs=max_jobs,
                            edge_port=None if no_edge else edge_port,
                            origin_ports=_port_map(origin_ports),
                            edge_cache_bytes=edge_cache_bytes)
    app = create_app(variant, settings)
    limited = "on" if app.runtime.limiters else "off"

    def started(url: str, edge: str | None) -> None:
        click.echo(f"cdn-contract mock {variant}: {url} (db {redacted(db)}, rate limit "
                   f"{limited}, time scale {time_scale:g}; docs at {url}/docs)", err=True)
        if edge:
            click.echo(f"CDN edge: {edge} (send the service's domain as Host)", err=True)

    serve(app, host, port, started)


def _port_map(pairs: tuple[str, ...]) -> dict[int, int]:
    """`--origin-port 80=18080` options as {80: 18080}."""
    found = {}
    for pair in pairs:
        documented, _, local = pair.partition("=")
        if not (documented.isdigit() and local.isdigit()):
            raise click.BadParameter(f"{pair!r} is not PORT=LOCAL (e.g. 80=18080)",
                                     param_hint="--origin-port")
        found[int(documented)] = int(local)
    return found


@cli.command()
@click.option("--base-url", required=True, envvar="CDN_CONTRACT_BASE_URL",
              help="Where the implementation under test listens (the part before /v1.0).")
@click.option("--variant", type=_VARIANT_CHOICE, default="2016-08", show_default=True,
              help="The contract to hold it to; `all` says which variants it conforms to.")
@click.option("--token", envvar="CDN_CONTRACT_TOKEN", help="A valid X-Auth-Token (then an "
              "invalid one is probed too). Also $CDN_CONTRACT_TOKEN; reports show it as that "
              "variable, never its value.")
@click.option("-H", "--header", "headers", multiple=True, metavar="'NAME: VALUE'",
              help="Send this header on every request, schemathesis' included (repeatable; "
              "also $CDN_CONTRACT_HEADERS, one per line).")
@click.option("--project-id", envvar="CDN_CONTRACT_PROJECT_ID", help="Use this project for "
              "every request, schemathesis' included (a real account); by default each check "
              "uses a fresh one.")
@click.option("--other-project-id", envvar="CDN_CONTRACT_OTHER_PROJECT_ID", help="A second "
              "tenant, for the checks that another project's services are not served (S18); "
              "with --project-id they are otherwise not observable.")
@click.option("--other-token", envvar="CDN_CONTRACT_OTHER_TOKEN",
              help="The second tenant's token (default: --token).")
@click.option("--service-body", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="A JSON template for the services the suite creates, for targets with "
              "extra requirements; the placeholders {domain}, {origin}, {name}, {flavor_id} "
              "and {unique} are filled per create. Checked against the variant's create "
              "schema first.")
@click.option("--flavor-id", help="The flavor of the services the suite creates (default: "
              "the first of GET /flavors).")
@click.option("--deploy-timeout", type=click.FloatRange(min=0, min_open=True), default=1200,
              show_default=True, help="Seconds a new service may take to deploy (or a "
              "deleted one to go), times --time-scale; polled, so a fast target is not "
              "slowed.")
@click.option("--keep-services", is_flag=True, help="Leave the services the suite created; "
              "by default each is deleted at the end, on failure and on Ctrl-C too.")
@click.option("--observer", metavar="MODULE:FUNCTION", help="observer(project_id, "
              "service_id) -> the target's purge jobs, each with `hard`: how the default of "
              "hard is seen on targets without /__mock__/jobs. MODULE may be a module of the "
              "working directory or path/to/file.py.")
@click.option("--rate-limit-check", is_flag=True, help="Also send one purge more than the "
              "spec's rate limit allows, in a row (S11, S24, S35); needs a fresh window (with "
              "--project-id the suite waits for one).")
@click.option("--max-examples", type=click.IntRange(min=1), default=15, show_default=True,
              help="Schemathesis cases per operation and mode (positive, negative).")
@click.option("--seed", type=int, help="Seed the generated cases, for a reproducible run.")
@click.option("--workers", type=click.IntRange(1, 16), default=2, show_default=True,
              help="Operations fuzzed in parallel.")
@CONFORM_FORMATS.file_options("junit", "json", "html")
@click.option("-q", "--quiet", is_flag=True, help="No progress lines.")
@click.option("--allow-unobserved", is_flag=True, help="Exit 0 when nothing failed even if "
              "some MUST statement could not be observed (the verdict still says which).")
@click.option("--checks", type=click.Choice(["all", "api", "edge"]), default="all",
              show_default=True, help="`api`: the API checks, the scenario and schemathesis; "
              "`edge`: what purges, invalidations and service settings do to what the edge "
              "serves (S12-S15, S26-S30).")
@click.option("--edge-url", help="Where the CDN's edge answers (the service's domain goes "
              "in Host). Our mock's edge is found by itself.")
@click.option("--origin-listen", metavar="HOST:PORT", help="Where the suite's own origin "
              "listens for the edge checks, e.g. 127.0.0.1:18080.")
@click.option("--origin-url", metavar="URL", help="How the CDN reaches that origin, e.g. "
              "http://127.0.0.1:80 for a mock run with --origin-port 80=18080 (default: the "
              "--origin-listen address). Its port must be one the contract's origins accept.")
@click.option("--time-scale", type=click.FloatRange(min=0, min_open=True),
              help="The documented durations (purge, invalidation, TTLs, --deploy-timeout) "
              "are waited for times this (a real CDN: 1; default: what our mock reports, "
              "else 1).")
def conform(base_url: str, variant: str, token: str | None, headers: tuple[str, ...],
            project_id: str | None, other_project_id: str | None, other_token: str | None,
            service_body: Path | None, flavor_id: str | None, deploy_timeout: float,
            keep_services: bool, observer: str | None, rate_limit_check: bool,
            max_examples: int, seed: int | None, workers: int, quiet: bool,
            allow_unobserved: bool, checks: str, edge_url: str | None,
            origin_listen: str | None, origin_url: str | None, time_scale: float | None,
            **report_files: Path | None) -> None:
    """Check a running implementation against the contract.

    First a preflight shows that the target speaks this API (ping, home document, flavors,
    service list, with the token and headers given); if not, nothing is checked (exit 2).
    A variant CONFORMS when every MUST and SHOULD statement it observed holds, schemathesis
    finds nothing, and every MUST statement its checks look at was observed. When nothing
    failed but some MUST statement could not be observed (no --rate-limit-check, no
    service created, no way to see the default of `hard`), the verdict is NOT SHOWN TO
    CONFORM and names each one with how to observe it. INTERPRETATION rows are warnings,
    never failures.

    Exit codes: 0 every variant asked for conforms (with --allow-unobserved, also when it
    is only not shown to); 1 one does not conform or is not shown to; 2 nothing could be
    judged (bad options, the preflight failed, the target stopped answering).

    Every service the suite creates has domains of its own under conform.example and is
    deleted at the end (--keep-services keeps them); a service it needs deployed is polled
    until it is, up to --deploy-timeout.

    The edge checks start an origin of their own (--origin-listen), create services in
    front of it, and judge what the edge serves and what the origin is asked; they wait
    for the documented durations times --time-scale.

    Each failure comes with a curl command that reproduces it. Examples: our own mock, its
    edge included (a fresh one: the rate limit needs a new window); a real account.

    \b
        cdn-contract mock --time-scale 0.01 --origin-port 80=18080 &
        cdn-contract conform --base-url http://127.0.0.1:8080 --variant 2016-08 \\
            --rate-limit-check --origin-listen 127.0.0.1:18080 \\
            --origin-url http://127.0.0.1:80 --html report.html
    \b
        export CDN_CONTRACT_TOKEN=...   # kept out of the process list and the reports
        cdn-contract conform --base-url https://cdn.example.net --checks api \\
            --project-id 110011 -H 'X-Tenant: 110011' --service-body body.json
    """
    from contract.conform.fuzz import FuzzSettings
    from contract.conform.report import Run
    from contract.conform.runner import EdgeOptions, RunOptions, run
    from contract.conform.target import (
        Fixtures,
        Identity,
        Target,
        load_observer,
        load_template,
    )
    from contract.outputs import write_files

    if not base_url.startswith(("http://", "https://")):
        raise click.BadParameter(f"{base_url!r} is not an http(s) URL", param_hint="--base-url")
    identity = Identity(token or "conformance-token", bool(token), project_id,
                        other_project_id, other_token, _headers(headers))
    fixtures = Fixtures(deploy_timeout=deploy_timeout, keep_services=keep_services,
                        flavor_id=flavor_id)
    if service_body is not None:
        fixtures.template = load_template(service_body, _chosen(variant))
    target = Target(base_url, identity, fixtures,
                    observer=load_observer(observer) if observer else None,
                    time_scale=time_scale)
    if edge_url is not None and not edge_url.startswith(("http://", "https://")):
        raise click.BadParameter(f"{edge_url!r} is not an http(s) URL", param_hint="--edge-url")
    edge = EdgeOptions(edge_url, _address(origin_listen, "--origin-listen"),
                       _address(origin_url, "--origin-url"),
                       (origin_url or "").startswith("https://"))
    options = RunOptions(_chosen(variant), FuzzSettings(max_examples, seed, workers),
                         rate_limit_check, ("api", "edge") if checks == "all" else (checks,),
                         edge)
    say = (lambda _: None) if quiet else (lambda line: click.echo(line, err=True))
    reports = run(target, options, say)
    finished = Run(reports, base_url)
    click.echo(CONFORM_FORMATS.render("summary", finished))
    click.echo(f"services: {target.created_count} created, "
               + ("kept (--keep-services)" if keep_services else f"{target.removed} removed"))
    for path, text in CONFORM_FORMATS.written(finished, report_files).items():
        write_files({path.name: text}, path.parent)
    passed = all(r.conforms or (allow_unobserved and r.verdict()[0] == "NOT SHOWN TO CONFORM")
                 for r in reports)
    sys.exit(EXIT_OK if passed else EXIT_FAILED)


def _headers(given: tuple[str, ...]) -> dict[str, str]:
    """`-H 'Name: value'` options (and $CDN_CONTRACT_HEADERS, one per line) as a dict."""
    lines = [*os.environ.get("CDN_CONTRACT_HEADERS", "").splitlines(), *given]
    found = {}
    for line in (line for line in lines if line.strip()):
        name, colon, value = line.partition(":")
        if not colon or not name.strip() or not re.fullmatch(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+",
                                                           name.strip()):
            raise click.BadParameter(f"{line!r} is not 'Name: value'", param_hint="--header")
        found[name.strip()] = value.strip()
    return found


def _address(value: str | None, option: str) -> tuple[str, int] | None:
    """`HOST:PORT` or `http://HOST:PORT` as (host, port); the default port of a URL's scheme
    when it has none."""
    if value is None:
        return None
    parts = urlsplit(value if "//" in value else f"//{value}")
    try:
        port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    except ValueError:
        port = None
    if not parts.hostname or port is None:
        raise click.BadParameter(f"{value!r} is not HOST:PORT or an http(s) URL",
                                 param_hint=option)
    return parts.hostname, port


def _chosen(variant: str) -> list[str]:
    """The variant names a `--variant` value stands for (`all`: both)."""
    return list(VARIANTS) if variant == "all" else [variant]


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
