"""The stub server's command: `mock`, the stateful stub server with its CDN edge."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from contract.cli.common import client_limits
from contract.errors import InputError
from contract.spec.variants import VARIANTS

# Bounds of the duration options: past them a request would wait for ever, or a job's times
# would overflow to a number JSON cannot carry (Infinity).
MAX_TIME_SCALE = 1000.0
MAX_LATENCY_MS = 60_000
MAX_RETENTION = 30 * 24 * 3600.0
DOCUMENTED_ORIGIN_PORTS = (80, 443)  # what the contract lets an origin use


@click.command()
@click.option("--variant", type=click.Choice(list(VARIANTS)), default="2016-08",
              show_default=True, help="Which doc variant to behave as.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True,
              help="Port of the API (0: any free one; the startup line says which).")
@click.option("--db", default=":memory:", show_default=True,
              help="Where the state lives: a SQLite file (created if missing; survives "
                   "restarts), :memory:, or postgresql://USER@HOST:PORT/DB to share services, "
                   "jobs and the rate limit with other replicas on the same database.")
@click.option("--time-scale", type=click.FloatRange(min=0, min_open=True, max=MAX_TIME_SCALE),
              default=1.0, show_default=True, help="Multiply every documented duration "
              "(purge 10 min, invalidation 60 s, deploys, the rate-limit window) by this "
              f"(at most {MAX_TIME_SCALE:g}).")
@click.option("--tokens", multiple=True, metavar="TOKEN[=PROJECT][,...]",
              help="Accept only these X-Auth-Token values (default: any non-empty token). "
              "TOKEN=PROJECT is valid for that project only (401 elsewhere, and not for "
              "/__mock__/reset or /__mock__/jobs); a bare TOKEN is valid for every project.")
@click.option("--no-rate-limit", is_flag=True, help="Do not apply the 2016-08 purge rate "
              "limit (S11).")
@click.option("--latency-ms", type=click.IntRange(0, MAX_LATENCY_MS), default=0,
              show_default=True, help="Delay every API response by this much (at most "
              f"{MAX_LATENCY_MS // 1000} s).")
@click.option("--error-rate", type=click.FloatRange(0, 1), default=0.0, show_default=True,
              help="Answer this share of API requests 503, for client resilience tests.")
@click.option("--faults", "fault_rates", multiple=True, metavar="NAME=RATE[,...]",
              help="Break this share of API requests on the wire, for client resilience "
              "tests: reset (connection reset before the answer), truncate (answer cut "
              "mid-body), slow-body (dribbled over 3 s), stall (no answer for 60 s), 503. "
              "Each is logged and journaled; a request asks one with `Prefer: fault=NAME`.")
@click.option("--seed", type=int, help="Seed for --error-rate, --faults and --behave random, "
              "for reproducible runs.")
@click.option("--journal", type=click.IntRange(min=0), default=5000, show_default=True,
              help="API requests kept for GET /__mock__/requests (the oldest dropped; 0: "
              "no journal).")
@click.option("--coverage", "coverage_file", type=click.Path(dir_okay=False),
              help="At exit, write what the requests covered of the contract to this file "
              "(.json, .html, or .md for a CI summary) and print a summary; GET "
              "/__mock__/coverage gives it any time.")
@click.option("--behave", multiple=True, metavar="NAME[,NAME...]|random|random+warnings",
              help="Take these freedoms the docs allow (each a point of the documented "
              "envelope: asynchronous delete, Retry-After as an HTTP-date, ...; see "
              "--list-behaviours), or `random`: each process, service and request draws "
              "those conform reports without a warning from --seed, logged and shown by "
              "/__mock__/health (`random+warnings`: all of them).")
@click.option("--list-behaviours", is_flag=True, is_eager=True, expose_value=False,
              callback=lambda context, _, value: _list_behaviours(context, value),
              help="List the --behave names, the statement allowing each and what the mock "
              "then does, and exit.")
@click.option("--cors", is_flag=True, help="Answer CORS preflights and allow any origin.")
@click.option("-q", "--quiet", is_flag=True, help="No log line per request.")
@client_limits
@click.option("--job-retention", type=click.FloatRange(0, MAX_RETENTION), default=3600.0,
              show_default=True, help="Seconds a finished purge job stays listed in "
              "/__mock__/jobs (analytics keep counting it; at most 30 days).")
@click.option("--max-jobs", type=click.IntRange(min=1), default=100_000, show_default=True,
              help="Purge jobs kept at most: a bound (the oldest finished go first, a few "
              "more at once than needed so that pruning stays rare; an unfinished job is "
              "never dropped: with only those held, a purge is refused with 503).")
@click.option("--edge-port", type=click.IntRange(0, 65535), default=0,
              help="Where the CDN edge serves the services' assets, routed by Host (default: "
              "any free port; the startup line and /__mock__/health say which).")
@click.option("--no-edge", is_flag=True, help="Serve the API only, no CDN edge.")
@click.option("--origin-port", "origin_ports", multiple=True, metavar="PORT=LOCAL",
              help="Reach origins documented on PORT (80 or 443) on LOCAL instead, e.g. "
              "80=18080 for a test origin on loopback; repeatable.")
@click.option("--sample/--no-sample", default=True, show_default=True,
              help="Hold the docs' sample service (project 110011, service "
              "96737ae3-cfc1-4c72-be88-5d0e7cc9a3f0), so that the docs' request examples "
              "and Swagger UI's \"Try it out\" get the documented answers; with --tokens, "
              "the samples' X-Auth-Token is accepted for that project too.")
@click.option("--edge-cache-bytes", type=click.IntRange(min=1024), default=128 * 1024 * 1024,
              show_default=True, help="The most the edge cache holds (keys, bodies and "
              "headers); "
              "past it the least recently used objects are evicted.")
def mock(variant: str, host: str, port: int, db: str, time_scale: float,
         tokens: tuple[str, ...], no_rate_limit: bool, latency_ms: int, error_rate: float,
         seed: int | None, cors: bool, quiet: bool, header_timeout: float,
         fault_rates: tuple[str, ...], journal: int, coverage_file: str | None,
         idle_timeout: float, max_connections: int, job_retention: float,
         max_jobs: int, edge_port: int, no_edge: bool,
         origin_ports: tuple[str, ...], edge_cache_bytes: int, behave: tuple[str, ...],
         sample: bool) -> None:
    """Serve a stateful stub of the API, generated from the spec of one variant.

    Logs one line per request (method, path, status, ms) to standard error, the edge's
    with its Host. Besides the API: GET /__mock__/health, POST /__mock__/reset, GET
    /__mock__/jobs (service_id, status, limit, marker), GET and DELETE /__mock__/requests
    (the journal: operation, method, path, service, status, since, until, limit, marker,
    format=har), GET /__mock__/coverage, and Swagger UI at /docs (GET / points there). A
    fresh mock holds the docs' sample service (--no-sample: none). To force a documented
    response, send `Prefer: code=401` (any status the operation documents: every one
    documents 401; a status it does not document is a 400 that lists those it does) or
    `Prefer: example=NAME`; to break the answer, `Prefer: fault=reset` (truncate,
    slow-body, stall, 503).

    \b
    Examples:
        cdn-contract mock --time-scale 0.01 &    # a purge's 10 minutes take 6 s
        curl -i -X DELETE -H 'X-Auth-Token: 0f6e9f63600142f0a970911583522217' \\
          'http://127.0.0.1:8080/v1.0/110011/services/96737ae3-cfc1-4c72-be88-5d0e7cc9a3f0/assets?url=/images/logo.png'
        cdn-contract mock --variant 2015-08 --tokens alice=p1,admin --db state.sqlite
        cdn-contract mock --coverage coverage.md --faults reset=0.05 --seed 7
    """
    from contract.http.serving import ServerLimits
    from contract.mock import coverage, faults
    from contract.mock.behaviours import choose
    from contract.mock.serve import create_app, serve
    from contract.mock.settings import MockSettings
    from contract.mock.state import sample as docs_sample
    from contract.mock.state.store import redacted

    scoped, accepted = _tokens(tokens)
    if sample and accepted and docs_sample.TOKEN not in accepted:  # for its project alone
        scoped = {**scoped, docs_sample.TOKEN: docs_sample.PROJECT}
        accepted |= {docs_sample.TOKEN}
    rates = faults.parse(fault_rates, error_rate)
    report_path = Path(coverage_file) if coverage_file else None
    if report_path is not None:
        coverage.check_path(report_path)
    if no_edge and click.get_current_context().get_parameter_source("edge_port") is not \
            click.core.ParameterSource.DEFAULT:
        raise InputError(f"--edge-port {edge_port} and --no-edge: the edge is off, so it "
                         "has no port (give one or the other)")
    settings = MockSettings(db=db, tokens=accepted or None, token_projects=scoped,
                            time_scale=time_scale,
                            rate_limit=not no_rate_limit, latency_ms=latency_ms,
                            faults=rates, journal=journal, seed=seed, cors=cors,
                            quiet=quiet,
                            limits=ServerLimits(header_timeout, idle_timeout, max_connections),
                            job_retention=job_retention, max_jobs=max_jobs,
                            edge_port=None if no_edge else edge_port,
                            origin_ports=_port_map(origin_ports),
                            edge_cache_bytes=edge_cache_bytes, behave=choose(behave),
                            sample=sample)
    app = create_app(variant, settings)
    limited = "on" if app.runtime.limiters else "off"

    def started(url: str, edge: str | None) -> None:
        click.echo(f"cdn-contract mock {variant}: {url} (db {redacted(db)}, rate limit "
                   f"{limited}, time scale {time_scale:g}; docs at {url}/docs)", err=True)
        if app.runtime.behaviours:
            click.echo(app.runtime.behaviours.summary(), err=True)
        if rates:
            click.echo("faults " + ", ".join(f"{name}={rate:g}" for name, rate in
                                             rates.items()), err=True)
        if edge:
            click.echo(f"CDN edge: {edge} (send the service's domain as Host)", err=True)

    try:
        serve(app, host, port, started)
    finally:
        _report_coverage(app.runtime.coverage_report(), report_path)


def _report_coverage(report: dict[str, Any], path: Path | None) -> None:
    """The terminal summary at exit, and the --coverage file."""
    from contract.mock import coverage

    if not report["requests"] and path is None:
        return
    click.echo(coverage.summary(report), err=True)
    if path is not None:
        coverage.write(report, path)
        click.echo(f"coverage written to {path}", err=True)




def _tokens(groups: tuple[str, ...]) -> tuple[dict[str, str], frozenset[str]]:
    """`--tokens` values as ({token: its project}, every accepted token). An empty token
    would be refused on every request, so it is bad input, not a setting."""
    scoped, accepted = {}, set()
    for group in groups:
        for given in group.split(","):
            token, equals, project = (part.strip() for part in given.partition("="))
            if not token:
                raise InputError(f"--tokens {group!r}: an empty token (X-Auth-Token must "
                                 "carry one; leave --tokens out to accept any token)")
            if equals and not project:
                raise InputError(f"--tokens {group!r}: no project after '=' (TOKEN=PROJECT, "
                                 "or a bare TOKEN for every project)")
            accepted.add(token)
            if project:
                scoped[token] = project
    return scoped, frozenset(accepted)


def _list_behaviours(context: click.Context, value: bool) -> None:
    if value:
        from contract.mock.behaviours import listing

        click.echo(listing())
        context.exit(0)


def _port_map(pairs: tuple[str, ...]) -> dict[int, int]:
    """`--origin-port 80=18080` options as {80: 18080}."""
    found = {}
    for pair in pairs:
        documented, _, local = pair.partition("=")
        if not (documented.isdigit() and local.isdigit()):
            raise InputError(f"--origin-port {pair!r} is not PORT=LOCAL (e.g. 80=18080)")
        if int(documented) not in DOCUMENTED_ORIGIN_PORTS:
            raise InputError(f"--origin-port {pair!r}: the contract allows origins on port 80 "
                             f"or 443 only, so {documented} is never reached (e.g. 80=18080)")
        if not 0 < int(local) < 65536:
            raise InputError(f"--origin-port {pair!r}: {local} is not a port (1-65535)")
        found[int(documented)] = int(local)
    return found
