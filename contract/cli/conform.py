"""The conformance suite's command: `conform`, the conformance suite against any base URL."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from urllib.parse import urlsplit

import click

from contract.cli.common import EXIT_FAILED, EXIT_OK, VARIANT_CHOICE, chosen
from contract.reports import CONFORM as CONFORM_FORMATS


@click.command()
@click.option("--base-url", required=True, envvar="CDN_CONTRACT_BASE_URL",
              help="Where the implementation under test listens (the part before /v1.0).")
@click.option("--variant", type=VARIANT_CHOICE, default="2016-08", show_default=True,
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
              show_default=True, help="Seconds the services the checks need may take to "
              "deploy, all together (they are created up front and waited for at once), and "
              "a deleted one to go; times --time-scale; polled, so a fast target is not "
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
    deleted at the end (--keep-services keeps them) and counted removed once it answers
    404; the services the checks need deployed are created up front and polled together,
    all within one --deploy-timeout.

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
        fixtures.template = load_template(service_body, chosen(variant))
    target = Target(base_url, identity, fixtures,
                    observer=load_observer(observer) if observer else None,
                    time_scale=time_scale)
    if edge_url is not None and not edge_url.startswith(("http://", "https://")):
        raise click.BadParameter(f"{edge_url!r} is not an http(s) URL", param_hint="--edge-url")
    edge = EdgeOptions(edge_url, _address(origin_listen, "--origin-listen"),
                       _address(origin_url, "--origin-url"),
                       (origin_url or "").startswith("https://"))
    options = RunOptions(chosen(variant), FuzzSettings(max_examples, seed, workers),
                         rate_limit_check, ("api", "edge") if checks == "all" else (checks,),
                         edge)
    say = (lambda _: None) if quiet else (lambda line: click.echo(line, err=True))
    reports = run(target, options, say)
    finished = Run(reports, base_url)
    click.echo(CONFORM_FORMATS.render("summary", finished))
    click.echo(f"services: {target.created_count} created, "
               + ("kept (--keep-services)" if keep_services else f"{target.removed} removed"))
    for line in target.left:  # removed counts those seen gone; the others, each with why
        click.echo(f"  not removed: {line}")
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
