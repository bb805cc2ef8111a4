"""The validators' commands: `validate` (recorded traffic judged by the contract) and `proxy`
(live traffic judged on its way to an implementation)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from contract.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    SECONDS,
    VARIANT_CHOICE,
    chosen,
    client_limits,
)
from contract.errors import InputError
from contract.reports import VALIDATE as VALIDATE_FORMATS
from contract.spec.variants import VARIANTS

REQUEST_ONLY = "request only: response not judged"  # an exchange recorded without a response


@click.command()
@click.argument("files", nargs=-1, required=True,
                type=click.Path(path_type=Path, dir_okay=False))
@click.option("--variant", type=VARIANT_CHOICE, default="all", show_default=True,
              help="Validate under this doc variant, or under each.")
@VALIDATE_FORMATS.option(default="table")
@click.option("--engine", type=click.Choice(["compiled", "openapi-core"]), default="compiled",
              show_default=True, help="Validate with the checks compiled from the spec, or "
              "with openapi-core (the reference implementation; much slower).")
@click.option("--require-response", is_flag=True, help="Fail an exchange that has no "
              "response (a request file alone, a HAR entry without one): by default it is "
              "judged on its request and reported as request only.")
@click.option("--strict", is_flag=True, help="Exit 1 on warnings too (violations of "
              "INTERPRETATION rows only, which otherwise exit 0, as in `conform`).")
def validate(files: tuple[Path, ...], variant: str, output: str, engine: str,
             require_response: bool, strict: bool) -> None:
    """Validate recorded HTTP exchanges against the contract.

    FILES are raw HTTP messages (a request file, then its response file; a `.json` file after
    a message is that message's body, as in the docs' samples), curl -v transcripts, or HAR
    1.2 files. Each violation names the statements it breaks and their level; one that breaks
    only INTERPRETATION rows is a warning. Exit 0 when every exchange is valid under every
    selected variant (warnings aside, unless --strict), 1 on violations, 2 on bad input. An
    exchange without a response is judged on its request and every format says "request
    only: response not judged" (--require-response: it fails). Prints its throughput on
    standard error.

    To record traffic: `curl -sv URL > file 2>&1` (curl never writes the request body it
    sends, so that part is noted as not recorded and not judged; the response body is in
    the file), a HAR saved from the browser's developer tools (it has both bodies), or
    `cdn-contract proxy` in front of the implementation, which validates live.

    \b
    Examples:
        cdn-contract validate request.txt response.txt --variant all
        curl -sv https://cdn.example.net/v1.0/110011/services > list.txt 2>&1
        cdn-contract validate list.txt --format junit > validate.xml
        cdn-contract validate traffic.har --strict
    """
    from contract.recorded import exchanges_from_files
    from contract.validation import validate_exchange
    from contract.validation.report import ExchangeResult
    from contract.validation.report_types import Violation
    from contract.validation.verdict import OWN_NOTE, suites_own

    exchanges = exchanges_from_files(files)
    if not exchanges:
        raise InputError("no exchanges in the given files")
    for exchange in exchanges:
        if suites_own(exchange.request):
            exchange.notes.append(OWN_NOTE)
        elif exchange.response is None:
            exchange.notes.append(REQUEST_ONLY)
    started = time.perf_counter()
    results = [ExchangeResult(e, [validate_exchange(e, v, engine) for v in chosen(variant)])
               for e in exchanges]
    if require_response:
        for result in results:
            if result.exchange.response is None:
                for verdict in result.verdicts:
                    verdict.violations.append(Violation("response", f"{REQUEST_ONLY} "
                                                        "(--require-response)"))
    took = time.perf_counter() - started
    click.echo(f"validated {len(exchanges):,} exchanges under {', '.join(chosen(variant))} "
               f"({engine}) in {took:.2f} s: {len(exchanges) / max(took, 1e-9):,.0f} "
               "exchanges/s", err=True)
    click.echo(VALIDATE_FORMATS.render(output, results))
    failed = not all(r.valid for r in results) or (strict and any(r.warned for r in results))
    sys.exit(EXIT_FAILED if failed else EXIT_OK)




@click.command()
@click.option("--upstream", required=True, help="Base URL of the implementation to front, "
              "e.g. http://127.0.0.1:9000.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True,
              help="Port the proxy listens on (0: any free one; the startup line says which).")
@click.option("--variant", type=click.Choice(list(VARIANTS)), default="2016-08",
              show_default=True, help="The doc variant to validate against.")
@click.option("--log", "log_path", type=click.Path(path_type=Path, dir_okay=False),
              help="Append violations here as JSON lines (default: standard error).")
@click.option("--strict", is_flag=True, help="Answer invalid requests 400 (not forwarded) "
              "and replace invalid responses with a 502 listing the violations (warnings, "
              "which break only INTERPRETATION rows, pass).")
@click.option("--timeout", type=SECONDS, default=30.0, show_default=True,
              help="Seconds to wait for the upstream before answering 504 (and again for "
              "a streamed body: past them the client's connection is aborted). An upstream "
              "head over 64 KiB or 256 header lines is a 502.")
@click.option("--engine", type=click.Choice(["compiled", "openapi-core"]), default="compiled",
              show_default=True, help="Validate with the checks compiled from the spec, or "
              "with openapi-core (the reference implementation; much slower).")
@click.option("--rewrite-location", is_flag=True, help="Make a Location header on the "
              "upstream's own origin (http in any case, its host and port, under its path) "
              "point at the proxy instead; any other Location passes unchanged.")
@click.option("--buffer-limit", type=click.IntRange(min=0), default=8 * 1024 * 1024,
              show_default=True, help="Bytes of a response body buffered to validate it; a "
              "longer body is streamed through, its status and headers validated, not it.")
@client_limits
def proxy(upstream: str, host: str, port: int, variant: str, log_path: Path | None,
          strict: bool, timeout: float, engine: str, rewrite_location: bool,
          buffer_limit: int, header_timeout: float, idle_timeout: float,
          max_connections: int) -> None:
    """Forward traffic to an implementation and validate every exchange.

    Exchanges pass through unchanged (the upstream's status line, header names and order,
    body; plus an X-Contract-Violations count header) unless --strict. Upstream down: 502;
    upstream too slow: 504; both with a JSON error body. Only http:// upstreams.

    \b
    Example: the vendor's staging API behind the proxy, violations to a file
        cdn-contract proxy --upstream http://127.0.0.1:9000 --port 8080 --log violations.jsonl
    """
    from contract.http.serving import ServerLimits
    from contract.proxy import ValidatingProxy, serve
    from contract.proxy.log import ViolationLog

    if not upstream.startswith("http://"):
        raise click.BadParameter(f"{upstream!r} is not an http:// URL", param_hint="--upstream")
    try:
        log = ViolationLog(log_path)
    except OSError as error:
        raise InputError(f"--log: cannot append to it: {error.strerror}", log_path) from None
    app = ValidatingProxy(upstream, variant, strict=strict, log=log,
                          timeout=timeout, engine=engine, rewrite_location=rewrite_location,
                          buffer_limit=buffer_limit,
                          limits=ServerLimits(header_timeout, idle_timeout, max_connections))
    serve(app, host, port, lambda url: click.echo(
        f"validating proxy: {url} -> {upstream} (variant {variant}, engine {engine}"
        f"{', strict' if strict else ''})", err=True))
