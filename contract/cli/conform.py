"""The conformance suite's command: `conform`, the conformance suite against any base URL."""

from __future__ import annotations

import contextlib
import os
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import click
from click.core import ParameterSource

from contract.cli.common import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK, VARIANT_CHOICE, chosen
from contract.outputs import refuses_files
from contract.reports import CONFORM as CONFORM_FORMATS
from contract.textsafe import visible

if TYPE_CHECKING:  # the suite brings schemathesis: loaded when a run starts
    from contract.conform.baseline import Baseline
    from contract.conform.report import Environment, Run
    from contract.conform.runner import RunOptions, VariantReport
    from contract.conform.stopping import Stop
    from contract.conform.target import Target

REPORT_FILES = ("junit", "json", "html", "har")  # the --<format> PATH options
_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1000, "kib": 1024, "m": 1000**2, "mb": 1000**2,
          "mib": 1024**2, "g": 1000**3, "gb": 1000**3, "gib": 1024**3}


class Size(click.ParamType[int]):
    """A number of bytes: `1048576`, `512KiB`, `16MiB`, `1GB`."""

    name = "size"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        found = re.fullmatch(r"\s*(\d+)\s*([a-zA-Z]*)\s*", str(value))
        unit = found.group(2).lower() if found else ""
        if not found or unit not in _UNITS or int(found.group(1)) == 0:
            self.fail(f"{value!r} is not a size (e.g. 1048576, 512KiB, 16MiB)", param, ctx)
        return int(found.group(1)) * _UNITS[unit]


SIZE = Size()


@click.command()
@click.option("--base-url", required=True, envvar="CDN_CONTRACT_BASE_URL",
              help="Where the implementation under test listens (the part before /v1.0).")
@click.option("--variant", type=VARIANT_CHOICE, default="2016-08", show_default=True,
              help="The contract to hold it to; `all` says which variants it conforms to.")
@click.option("--token", envvar="CDN_CONTRACT_TOKEN", help="An X-Auth-Token the target "
              "accepts. With it, the suite also checks that an invalid token is refused "
              "(S10). Prefer $CDN_CONTRACT_TOKEN: the reports then show the variable's name "
              "where the token was sent; a token given as this option shows as ***.")
@click.option("-H", "--header", "headers", multiple=True, metavar="'NAME: VALUE'",
              help="Send this header on every request, schemathesis' included (repeatable; "
              "also $CDN_CONTRACT_HEADERS, one per line). Its value is a secret: reports "
              "show *** for it, unless --show-header names it.")
@click.option("--show-header", "show_headers", multiple=True, metavar="NAME",
              help="A -H header whose value reports may show as it is (repeatable; e.g. "
              "X-Tenant); every other -H value is masked like the token.")
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
@click.option("--certificate-domain", "certificate_domains", multiple=True, metavar="DOMAIN",
              help="A domain the SSL-certificate checks (S41-S46) may certify, for a target "
              "that checks its DNS (repeatable: the first is certified, deleted and certified "
              "again; up to four more for the certificates it must refuse; missing ones are "
              "subdomains of the first). Default: a domain of the service template.")
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
@CONFORM_FORMATS.file_options(*REPORT_FILES)
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
@click.option("--baseline", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="A previous run's --json report: the verdicts say what newly fails, what "
              "was fixed and what stays, and the HTML and JUnit reports mark new and fixed "
              "rows. Read before anything is sent.")
@click.option("--fail-on", type=click.Choice(["any", "new"]), default="any",
              show_default=True, help="`new`: exit 1 only on a failed statement, a finding "
              "or an unobserved MUST statement that --baseline did not have.")
@click.option("--color/--no-color", "color", default=None, help="Colour the summary "
              "(default: on a terminal, unless $NO_COLOR is set).")
@click.option("--max-body", type=SIZE, default="16MiB", show_default=True, metavar="SIZE",
              help="The most conform reads of one answer's body, decoded (a gzip or "
              "deflate bomb counts what it inflates to); e.g. 512KiB, 16MiB. An answer past "
              "it is a finding on the target, never read whole.")
@click.option("--request-deadline", type=click.FloatRange(min=0, min_open=True),
              default=30, show_default=True, help="Seconds one whole exchange (connect, "
              "send, head and body) may take, however slowly the bytes trickle in; past it "
              "is a finding on the target.")
@click.option("--max-pages", type=click.IntRange(min=1), default=200, show_default=True,
              help="`next` links followed in one listing.")
@click.option("--max-json-depth", type=click.IntRange(min=1), default=64,
              show_default=True, help="Arrays and objects nested in one answer; deeper is "
              "a finding on the target.")
@click.option("--trust-target-edge", is_flag=True, help="Send the edge probes to the host "
              "the target names for its edge in /__mock__/health; by default only its port "
              "is taken, on --base-url's host.")
@click.option("--time-scale", type=click.FloatRange(min=0, min_open=True),
              help="The documented durations (purge, invalidation, TTLs, --deploy-timeout) "
              "are waited for times this (a real CDN: 1; default: what our mock reports, "
              "else 1).")
def conform(base_url: str, variant: str, token: str | None, headers: tuple[str, ...],
            show_headers: tuple[str, ...], project_id: str | None,
            other_project_id: str | None, other_token: str | None,
            service_body: Path | None, flavor_id: str | None,
            certificate_domains: tuple[str, ...], deploy_timeout: float,
            keep_services: bool, observer: str | None, rate_limit_check: bool,
            max_examples: int, seed: int | None, workers: int, quiet: bool,
            allow_unobserved: bool, checks: str, edge_url: str | None,
            origin_listen: str | None, origin_url: str | None, baseline: Path | None,
            fail_on: str, color: bool | None, max_body: int,
            request_deadline: float, max_pages: int, max_json_depth: int,
            trust_target_edge: bool, time_scale: float | None,
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
    is only not shown to); 1 one does not conform or is not shown to (with --baseline and
    --fail-on new: only when something failed that the baseline did not have); 2 nothing
    could be judged (bad options, a bad baseline, the preflight failed, the target stopped
    answering, the run was interrupted by Ctrl-C or SIGTERM, or a bug of ours stopped it:
    one line, and the file its traceback was saved to). A run that stops still writes
    every report asked for, with the variants it finished and where it stopped and why.

    Reports never show the token or a -H value (--show-header names a header that may be
    shown): each is *** or, for a token from its environment variable, that variable.
    What the target sends is quoted with its control characters and escape sequences
    escaped (`\\x1b[2J`), in every report; curl lines quote them as $'...'.

    Every service the suite creates has domains of its own under conform.example and is
    deleted at the end (--keep-services keeps them) and counted removed once it answers
    404; the services the checks need deployed are created up front and polled together,
    all within one --deploy-timeout.

    The edge checks start an origin of their own (--origin-listen), create services in
    front of it, and judge what the edge serves and what the origin is asked; they wait
    for the documented durations times --time-scale.

    The report is grouped by cause: one row per statement, result and cause (what was
    expected, and what came: the status and the body's shape) with its count, the
    operations it touched and one example, its answer quoted and a curl command that sends
    it again (a long body from a file beside the reports); on the terminal, statements not
    observable for one reason share one row, each variant opens with its verdict and its
    failures, and lines fit the terminal ($COLUMNS, else 80 in a pipe; a cut row says where
    it is whole). Every report lists the services created, removed and left, with a curl
    line that deletes each one left. Valid requests the target
    refuses (the target is stricter than the contract) are listed, never failures. The
    report paths are checked before anything is sent; --har keeps every exchange, which
    `cdn-contract validate` reads back. Hypothesis' files (its Unicode tables, no
    examples) go to ~/.cache/cdn-contract/hypothesis ($XDG_CACHE_HOME, or
    HYPOTHESIS_STORAGE_DIRECTORY, names another). The pytest entry point takes these
    options as --cdn-<option> and gives the same verdict and exit status:
    `pytest --cdn-base-url URL --pyargs contract.conform.test_contract`.

    Examples: our own mock, its
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
    from contract.conform.terminal import LiveSteps, Steps, detect

    given = dict(locals())
    setup = configure({**given, **given.pop("report_files")})
    say = (lambda _: None) if quiet else (lambda line: click.echo(line, err=True))
    steps = LiveSteps(sys.stderr) if not quiet and sys.stderr.isatty() else Steps(say)
    try:
        finished = replace(setup.run(steps), terminal=detect(color))
    finally:
        steps.close()
    if finished.reports or finished.stopped is None:
        click.echo(CONFORM_FORMATS.render("summary", finished), color=finished.terminal.colour)
    setup.write(finished)
    if finished.stopped is not None:
        click.echo(f"error: {setup.shown(finished.stopped.why, True)}", err=True)
        sys.exit(EXIT_BAD_INPUT)
    sys.exit(EXIT_OK if setup.passes(finished) else EXIT_FAILED)


@dataclass
class Setup:
    """A conformance run as the options ask for it: the command and the pytest entry point
    (`contract.conform.pytest_plugin`) both build it here from the same options, so one
    target and one set of options give one verdict and one exit status."""

    target: Target
    options: RunOptions
    allow_unobserved: bool
    files: dict[str, Path]  # format name → where the report goes
    baseline: Baseline | None = None
    fail_on: str = "any"  # "new": only what the baseline did not have shuts the gate

    def run(self, progress: Callable[[str], None] = lambda _: None) -> Run:
        """The run, finished or stopped (an interrupt, SIGTERM, a target that stops
        answering, a bug of ours): a stopped one has its reports written at once, before
        the services are deleted, and says where and why it stopped (`Run.stopped`).
        Every progress line is shown as the terminal shows text: secrets masked,
        controls escaped."""
        from contract.conform.report import Environment
        from contract.conform.runner import run
        from contract.conform.stopping import Whereabouts, stop_of, terminable
        from contract.conform.terminal import Steps

        environment = Environment.now(sys.argv, self.target.identity.secrets())
        if isinstance(progress, Steps):  # its lines (a live bar's too) pass through here
            progress.say = where = Whereabouts(progress.say, self.shown)
        else:
            progress = where = Whereabouts(progress, self.shown)
        reports: list[VariantReport] = []
        stop: Stop | None = None

        def stopped(error: BaseException) -> None:
            nonlocal stop
            stop = stop_of(error, where.where, self.shown)
            self.write(self._finished(reports, environment, stop))

        with terminable(), self._har():
            try:
                run(self.target, self.options, progress, reports, stopped)
            except SystemExit:
                raise
            except BaseException as error:  # said in the reports, and exit 2
                stop = stop or stop_of(error, where.where, self.shown)
        return self._finished(reports, environment, stop)

    def _finished(self, reports: list[VariantReport], environment: Environment,
                  stop: Stop | None) -> Run:
        from contract.conform.report import Run

        given = [path.resolve() for path in self.files.values()]
        return Run(reports, self.target.base_url, self.target.identity.secrets(),
                   given[0].parent if given else None, [], self.target.account(),
                   environment, self.baseline, self.allow_unobserved,
                   written=dict(self.files), stopped=stop)

    @contextlib.contextmanager
    def _har(self) -> Iterator[None]:
        """--har: every exchange written to the file as it comes, the file ended however
        the run ends."""
        if "har" not in self.files:
            yield
            return
        from contract import __version__
        from contract.recorded.har import HarWriter  # brings the validators: only for --har

        writer = HarWriter.open(self.files["har"], "cdn-contract conform", __version__,
                                self.shown)
        self.options.record = writer.add
        try:
            yield
        finally:
            writer.close()

    def shown(self, text: str, terminal: bool = False) -> str:
        """A text of the run as the reports show it: the secrets masked; on the
        `terminal`, every control character escaped too."""
        from contract.conform.secrets import masked

        text = masked(text, self.target.identity.secrets())
        return visible(text) if terminal else text

    def passes(self, finished: Run) -> bool:
        """The gate: every variant passes; with --fail-on new, nothing is new since the
        baseline."""
        if self.baseline is not None and self.fail_on == "new":
            return not any(delta.new for report in finished.reports
                           if (delta := finished.delta(report)) is not None)
        return all(report.passes(self.allow_unobserved) for report in finished.reports)

    def blocking(self, finished: Run, report: VariantReport, item: str) -> bool:
        """Whether one statement (or `findings`) alone keeps the gate shut: as the report
        says, or with --fail-on new only when it is new since the baseline (the pytest
        entry point's test per statement)."""
        delta = finished.delta(report) if self.fail_on == "new" else None
        if delta is not None:
            return any(new == item or new.startswith(f"{item} ") or
                       (item == "findings" and new.startswith("finding")) for new in delta.new)
        if item == "findings":
            return bool(report.findings)
        verdict = next(v for v in report.verdicts if v.id == item)
        return report.blocking(verdict, self.allow_unobserved)

    def write(self, finished: Run) -> None:
        """The report files asked for (the HAR is written as the run goes), and the
        request bodies their curl lines read."""
        from contract.outputs import write_files

        files: dict[str, Path | None] = {name: path for name, path in self.files.items()
                                         if name != "har"}
        for path, text in CONFORM_FORMATS.written(finished, files).items():
            write_files({path.name: text}, path.parent)
        for path, content in finished.body_files().items():
            path.write_bytes(content)


def configure(given: dict[str, Any]) -> Setup:
    """The run the `conform` options ask for (click's values, by parameter name); bad
    options (a URL that is not http, a report path that cannot be written) raise
    click.BadParameter or InputError before anything is sent or created."""
    from contract.conform.baseline import load as load_baseline
    from contract.conform.fuzz import FuzzSettings
    from contract.conform.gate import Bounds
    from contract.conform.runner import EdgeOptions, RunOptions
    from contract.conform.target import (
        Fixtures,
        Identity,
        Target,
        load_observer,
        load_template,
    )

    o = SimpleNamespace(**given)
    if not o.base_url.startswith(("http://", "https://")):
        raise click.BadParameter(f"{o.base_url!r} is not an http(s) URL",
                                 param_hint="--base-url")
    version = re.search(r"/v1\.0/*$", o.base_url)
    if version:  # every request would go to /v1.0/v1.0/...
        raise click.BadParameter(f"{o.base_url!r} ends in /v1.0, which the suite adds to "
                                 f"every path: drop it (--base-url "
                                 f"{o.base_url[:version.start()]})", param_hint="--base-url")
    files = writable({name: given.get(name) for name in REPORT_FILES})
    identity = Identity(o.token or "conformance-token", bool(o.token), o.project_id,
                        o.other_project_id, o.other_token, _headers(o.headers),
                        _variables({"token": o.token, "other_token": o.other_token}),
                        tuple(o.show_headers))
    fixtures = Fixtures(deploy_timeout=o.deploy_timeout, keep_services=o.keep_services,
                        flavor_id=o.flavor_id,
                        certificate_domains=_domains(o.certificate_domains))
    if o.service_body is not None:
        fixtures.template = load_template(o.service_body, chosen(o.variant))
    target = Target(o.base_url, identity, fixtures,
                    observer=load_observer(o.observer) if o.observer else None,
                    bounds=Bounds(o.max_body, o.request_deadline, o.max_pages,
                                  o.max_json_depth),
                    time_scale=o.time_scale, trust_edge=o.trust_target_edge)
    if o.edge_url is not None and not o.edge_url.startswith(("http://", "https://")):
        raise click.BadParameter(f"{o.edge_url!r} is not an http(s) URL",
                                 param_hint="--edge-url")
    edge = EdgeOptions(o.edge_url, _address(o.origin_listen, "--origin-listen"),
                       _address(o.origin_url, "--origin-url"),
                       (o.origin_url or "").startswith("https://"))
    baseline = load_baseline(o.baseline) if o.baseline is not None else None
    if o.fail_on == "new" and baseline is None:
        raise click.BadParameter("`new` needs --baseline FILE: new since what?",
                                 param_hint="--fail-on")
    options = RunOptions(chosen(o.variant),
                         FuzzSettings(o.max_examples, o.seed, o.workers,
                                      record="har" in files),
                         o.rate_limit_check,
                         ("api", "edge") if o.checks == "all" else (o.checks,), edge)
    return Setup(target, options, o.allow_unobserved, files, baseline, o.fail_on)


def writable(paths: dict[str, Path | None]) -> dict[str, Path]:
    """The report paths given, each checked before the run: its folder exists and is a
    folder, and the path is not one; click.BadParameter naming the option otherwise (and
    nothing created: a folder that is missing is not made)."""
    found = {}
    for name, path in paths.items():
        if path is None:
            continue
        folder = path.parent
        problem = ("is a folder, not a file" if path.is_dir() else
                   f"is in {folder}, which does not exist" if not folder.exists() else
                   f"is in {folder}, which is not a folder" if not folder.is_dir() else
                   f"cannot be written: {folder} is not writable"
                   if not os.access(folder, os.W_OK) else
                   "cannot be written: it is not a regular file"
                   if path.exists() and not path.is_file() else
                   f"cannot be written: {folder} {refused}"
                   if (refused := refuses_files(folder)) else "")
        if problem:
            raise click.BadParameter(f"{str(path)!r} {problem}", param_hint=f"--{name}")
        found[name] = path
    return found


def _variables(tokens: dict[str, str | None]) -> dict[str, str]:
    """The environment variable each token came from, when one holds exactly it (reports
    name it; a token given as an option is masked instead)."""
    context = click.get_current_context(silent=True)
    found = {}
    for name, value in tokens.items():
        source = context.get_parameter_source(name) if context else None
        if value and source == ParameterSource.ENVIRONMENT:
            found[name] = next((v for v in (f"CDN_CONTRACT_{name.upper()}",
                                            f"CDN_CONTRACT_CONFORM_{name.upper()}")
                                if os.environ.get(v) == value), f"CDN_CONTRACT_{name.upper()}")
    return found


def _domains(given: tuple[str, ...]) -> tuple[str, ...]:
    """--certificate-domain values, each a DNS name of two labels or more."""
    for domain in given:
        if not re.fullmatch(r"(?=.{4,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+"
                            r"[A-Za-z]{2,63}", domain):
            raise click.BadParameter(f"{domain!r} is not a domain name (e.g. "
                                     "www.example.com)", param_hint="--certificate-domain")
    return tuple(d.lower() for d in given)


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
