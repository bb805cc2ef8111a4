"""The conformance report: a summary for the terminal, and JSON, JUnit, HTML and HAR files.

Every report is grouped by cause: the outcomes that are not passes, of every statement and
finding, become one row per cause (`Cause`: how many, the operations they touched, one full
example with the request, the answer quoted and a curl line that sends it again); passes are
counts. The terminal gives the statements not observable for one reason (a service that
never deployed) one row between them, opens each variant with its verdict and failures, and
fits its width (`contract.conform.terminal`). A long request body is not cut: the curl line
reads it from a file beside the report (`Run.bodies`, written by the command with the
reports). Every report also says when and how the run ran (`Environment`), the services it
created, removed and left (`contract.conform.target.Account`), and, given a baseline, what
is new and what was fixed since (`contract.conform.baseline`).
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any
from xml.etree import ElementTree as ET

import httpx

from contract.conform.outcome import (
    CURL_BODY,
    SPEC,
    Outcome,
    StatementVerdict,
    Status,
    answer_lines,
    body_file,
    cause_of,
    curl,
    masked,
    operation_of,
    secrets_note,
    steady,
)
from contract.conform.terminal import Terminal

if TYPE_CHECKING:  # the runner brings schemathesis; the command line reads this module early
    from contract.conform.baseline import Baseline, Delta
    from contract.conform.runner import VariantReport
    from contract.conform.target import Account


@dataclass(frozen=True)
class Environment:
    """Where and when a run ran, as the reports head it: the date it started, the tool's
    version, the command line (its secrets masked)."""

    started: str
    version: str
    command: str

    @classmethod
    def now(cls, argv: list[str], secrets: dict[str, str]) -> Environment:
        import shlex
        from datetime import UTC, datetime

        from contract import __version__

        path = Path(argv[0] if argv else "cdn-contract")  # `python -m x`: x/__main__.py
        program = path.parent.name if path.name == "__main__.py" else path.name
        words = ["cdn-contract" if program == "contract" else program, *argv[1:]]
        return cls(datetime.now(UTC).isoformat(timespec="seconds"), __version__,
                   " ".join(shlex.quote(_masked_word(word, secrets)) for word in words))


def _masked_word(word: str, secrets: dict[str, str]) -> str:
    """A word of a command line with its secret masked: the word itself (`--token abc`),
    its value (`--token=abc`), or a long secret within it (`-H 'X-Auth-Token: …'`); a short
    token (`t`) is not hunted inside other words, which it would garble."""
    name, equals, value = word.partition("=")
    if word in secrets or (equals and value in secrets):
        return f"{name}={secrets[value]}" if equals and word not in secrets else secrets[word]
    return masked(word, {k: v for k, v in secrets.items() if len(k) >= LONG_SECRET})


LONG_SECRET = 8  # characters from which a secret is masked wherever it shows in a word


@dataclass(frozen=True)
class Run:
    """What a report of a conformance run shows: the variants' reports and the target, what
    stands for each secret, where long request bodies go (None: on the curl line), and
    every exchange of the run (for HAR)."""

    reports: list[VariantReport]
    base_url: str
    secrets: dict[str, str] = field(default_factory=dict)
    bodies: Path | None = None
    exchanges: list[httpx.Response] = field(default_factory=list)
    account: Account | None = None  # the services the run created, removed and left
    environment: Environment | None = None
    baseline: Baseline | None = None  # --baseline: the reports say what changed since
    allow_unobserved: bool = False  # the gate the baseline is compared with
    terminal: Terminal = field(default_factory=Terminal)  # how the summary is printed
    written: dict[str, Path] = field(default_factory=dict)  # format → the report's file

    def delta(self, report: VariantReport) -> Delta | None:
        """What changed since the baseline for this variant (None: no baseline)."""
        if self.baseline is None:
            return None
        return self.baseline.delta(report, self.allow_unobserved)

    def replay(self, outcome: Outcome) -> str:
        """The curl line of an outcome: from its exchange when it has one."""
        if outcome.exchange is None:
            return outcome.curl
        return curl(outcome.exchange.request, self.secrets, self.bodies)

    def body_files(self) -> dict[Path, bytes]:
        """The request bodies the reports' curl lines read with `@file`."""
        if self.bodies is None:
            return {}
        return {self.bodies / body_file(content): content for report in self.reports
                for cause in causes(report) if (example := cause.example).exchange is not None
                and len(content := example.exchange.request.content) > CURL_BODY}


@dataclass
class Cause:
    """Outcomes of one statement with one status and one cause: one row of a report."""

    statement: str
    status: Status
    key: str
    outcomes: list[Outcome]

    @property
    def example(self) -> Outcome:
        """The first outcome that carries an exchange (else the first)."""
        return next((o for o in self.outcomes if o.exchange is not None), self.outcomes[0])

    @property
    def operations(self) -> list[str]:
        return sorted({operation_of(o.exchange.request) for o in self.outcomes
                       if o.exchange is not None})

    @cached_property
    def anchor(self) -> str:
        digest = hashlib.sha256(f"{self.statement} {self.status} {self.key}".encode())
        return f"cause-{digest.hexdigest()[:10]}"


def group(outcomes: Iterable[Outcome]) -> list[Cause]:
    """The outcomes that are not passes, one `Cause` per statement, status and cause, in
    the order their first outcome came."""
    found: dict[tuple[str, Status, str], Cause] = {}
    for outcome in outcomes:
        if outcome.status == Status.PASS:
            continue
        key = (outcome.statement, outcome.status, cause_of(outcome))
        found.setdefault(key, Cause(*key, [])).outcomes.append(outcome)
    return list(found.values())


def findings(report: VariantReport) -> list[Outcome]:
    """The report's findings (schemathesis', and the spec's own facts) as outcomes."""
    return [f.outcome(SPEC, Status.FAIL) for f in report.findings]


def causes(report: VariantReport) -> list[Cause]:
    """Every row of a report: the statements' causes, the findings', the informational."""
    return group([*(o for v in report.verdicts for o in v.outcomes), *findings(report),
                  *report.informational])


def headline(report: VariantReport) -> str:
    """`2016-08: CONFORMS on the edge statements; API checks not run`: the verdict, and
    which checks it rests on."""
    from contract.conform.checks import GROUPS

    word, why = report.verdict()
    ran = [g for g in GROUPS if g in report.groups]
    left = [g for g in GROUPS if g not in report.groups]
    name = {"api": "API", "edge": "edge"}
    scope = f" on the {' and '.join(name[g] for g in ran)} statements" if left else ""
    reasons = f" ({', '.join(why)})" if why and word != "NOT SHOWN TO CONFORM" else ""
    rest = f"; {' and '.join(name[g] for g in left)} checks not run" if left else ""
    return f"{report.variant}: {word}{reasons}{scope}{rest}"


_MARK = {Status.PASS: "pass", Status.FAIL: "FAIL", Status.WARNING: "warn",
         Status.NOT_OBSERVABLE: "n/o", Status.INFO: "info"}
EXAMPLE_LINES = 4  # lines of a schemathesis explanation the terminal shows
CURL_SHOWN = 4  # terminal lines a curl line may take whole (longer: cut, whole in a report)


def summary(run: Run) -> str:
    """The terminal's report: per variant its verdict, what failed or warned (one row per
    cause), the table of statements, the other rows; then the services the run left and
    the verdicts again, last, where a CI log ends."""
    lines = []
    for report in run.reports:
        lines += _variant_lines(run, report)
    if note := secrets_note(run.secrets):
        lines.append(f"  curl: {note}")
    if run.account is not None:
        lines += _account_lines(run, run.account)
    lines.append("")
    for report in run.reports:
        word, why = report.verdict()
        lines.append(_painted_headline(run.terminal, report))
        if word == "NOT SHOWN TO CONFORM":  # one line per statement: each says what to do
            lines += [f"  {reason}" for reason in why]
        if delta := run.delta(report):
            lines.append(f"  {delta.line(run.terminal.paint)}")
    return "\n".join(lines)


def _variant_lines(run: Run, report: VariantReport) -> list[str]:
    """One variant: its verdict first, then its failures and warnings, the table of
    statements, and the rows of what was not observable or only said."""
    lines = [f"\n{run.base_url} against the {report.variant} contract "
             f"({report.cases} generated cases, {report.seconds:.1f} s)",
             f"  {_painted_headline(run.terminal, report)}"]
    if delta := run.delta(report):
        lines.append(f"  {delta.line(run.terminal.paint)}")
    rows = _merged(causes(report))
    failing = [same for same in rows if same[0].status in (Status.FAIL, Status.WARNING)]
    if failing:
        lines.append(f"  {len(failing)} cause(s) of failures and warnings, one example each:")
        lines += [line for same in failing for line in _row(run, report, same)]
    lines += _table(run, report)
    others = [same for same in rows if same not in failing]
    if others:
        lines.append(f"  {len(others)} other cause(s), not observable or informational:")
        lines += [line for same in others for line in _row(run, report, same)]
    lines += [f"  note: {note}" for note in report.notes]
    return lines


def _table(run: Run, report: VariantReport) -> list[str]:
    """One line per statement: its id, level, result (in its colour) and counts."""
    paint = run.terminal.paint
    lines = [f"  {'id':<5} {'level':<15} {'result':<7} counts"]
    for verdict in report.verdicts:
        counts = ", ".join(f"{n} {k}" for k, n in verdict.counts().items()) or "—"
        mark = paint(f"{_MARK[verdict.status]:<7}", verdict.status.value)
        lines.append(f"  {verdict.id:<5} {verdict.level:<15} {mark} {counts}")
    return lines


def _row(run: Run, report: VariantReport, same: list[Cause]) -> list[str]:
    """A row of the terminal, fitted to its width: a line cut says where it is whole."""
    example = same[0].example
    terminal = run.terminal
    if same[0].status == Status.NOT_OBSERVABLE and example.exchange is None \
            and not example.curl:  # one line for all it holds for
        return terminal.wrap(f"  {_mark(terminal, same[0].status)} "
                             f"{', '.join(c.statement for c in same)}: {example.message}")
    quoted = _cause_quote(run, example)  # a curl line is whole up to CURL_SHOWN: pasted
    keep = {len(quoted) - 1} if run.replay(example) and terminal.width is not None and \
        len(quoted[-1]) <= terminal.width * CURL_SHOWN else set()
    fitted = [(line, False) if index in keep else terminal.fit(line)
              for index, line in enumerate(quoted)]
    lines = [wrapped for line in _cause_head(run, *same) for wrapped in terminal.wrap(line)]
    lines += [line for line, _ in fitted]
    if any(cut for _, cut in fitted):
        lines.append(f"      (cut to {terminal.width} columns; "
                     f"{_whole_in(run, report, same[0])})")
    return lines


def _whole_in(run: Run, report: VariantReport, cause: Cause) -> str:
    """Where a row cut on the terminal is whole: the HTML report at the row's anchor, else
    the JSON or JUnit report, else the option that writes one (short: it fits too)."""
    if "html" in run.written:
        return f"whole in --html at #{report.variant}-{cause.anchor}"
    for name in ("json", "junit"):
        if name in run.written:
            return f"whole in the --{name} report"
    return "--html FILE keeps it whole"


def _mark(terminal: Terminal, status: Status) -> str:
    return terminal.paint(_MARK[status], status.value)


def _painted_headline(terminal: Terminal, report: VariantReport) -> str:
    word = report.verdict()[0]
    return headline(report).replace(word, terminal.paint(word, word), 1)


def _account_lines(run: Run, account: Account) -> list[str]:
    """The services the run created and removed; each one left, with why and the curl
    line that deletes it (never cut: it is to be pasted)."""
    lines = [account.line()]
    for left in account.left:
        lines += run.terminal.wrap(f"  left: {left.service} (project {left.project}): "
                                   f"{left.why}")
        lines.append(f"    {left.delete}")
    return lines


def _merged(rows: list[Cause]) -> list[list[Cause]]:
    """The rows the terminal shows: each cause alone, but the statements not observable for
    one reason (a service that never deployed leaves twenty-odd) as one row, in the order
    of their first."""
    merged: dict[tuple[Status, str], list[Cause]] = {}
    for index, cause in enumerate(rows):
        reason = _unstated(cause) if cause.status == Status.NOT_OBSERVABLE else str(index)
        merged.setdefault((cause.status, reason), []).append(cause)
    return list(merged.values())


def _unstated(cause: Cause) -> str:
    """A cause's key without the statement it opens with (`S4 not observable: the new
    service did not deploy, got 200 {…}`): what the statements it holds for share."""
    return re.sub(rf"^{re.escape(cause.statement)}\b", "", cause.key)


def _cause_lines(run: Run, cause: Cause, *also: Cause) -> list[str]:
    """A row: the cause's statement (and those of `also`, of the same reason), its count and
    operations, its example's message, the answer quoted and the curl line."""
    return _cause_head(run, cause, *also) + _cause_quote(run, cause.example)


def _cause_head(run: Run, cause: Cause, *also: Cause) -> list[str]:
    """A row's words: its mark, statements, count, operations and example's message."""
    example = cause.example
    both = (cause, *also)
    operations = sorted({operation for c in both for operation in c.operations})
    touched = f" in {len(operations)} operation(s): {', '.join(operations[:3])}" + (
        ", …" if len(operations) > 3 else "") if operations else ""
    text = example.message.splitlines() or [""]
    lines = [f"  {_mark(run.terminal, cause.status)} {', '.join(c.statement for c in both)} "
             f"x{sum(len(c.outcomes) for c in both)}{touched}: {text[0]}"]
    return lines + [f"        {line.strip()}" for line in text[1:]
                    if line.strip().startswith("- ")][:EXAMPLE_LINES]


def _cause_quote(run: Run, example: Outcome) -> list[str]:
    """A row's evidence: the answer quoted and the curl line that sends it again."""
    lines = []
    if example.exchange is not None:
        lines += [f"      {line}" for line in answer_lines(example.exchange, run.secrets)]
    if replay := run.replay(example):
        lines.append(f"      {replay}")
    return lines


def _request(response: httpx.Response, secrets: dict[str, str]) -> dict[str, Any]:
    request = response.request
    return {"method": request.method, "url": str(request.url),
            "headers": {k: masked(v, secrets) for k, v in request.headers.multi_items()},
            "body": masked(request.content.decode("utf-8", "replace"), secrets)[:2000]}


def _answer(response: httpx.Response, secrets: dict[str, str], limit: int = 2000
            ) -> dict[str, Any]:
    """The answer as JSON: its status, headers and body, the secrets masked as every other
    report masks them (a target may echo the token it was sent, in a header or a body)."""
    text = masked(response.content.decode("utf-8", "replace"), secrets)
    return {"status": response.status_code,
            "headers": {k: masked(v, secrets) for k, v in response.headers.multi_items()},
            "body": text[:limit], "body_bytes": len(response.content)}


def _cause_json(run: Run, cause: Cause) -> dict[str, Any]:
    example = cause.example
    shown: dict[str, Any] = {"message": example.message, "check": example.check,
                             "curl": run.replay(example)}
    if example.exchange is not None:
        shown |= {"request": _request(example.exchange, run.secrets),
                  "answer": _answer(example.exchange, run.secrets)}
    return {"statement": cause.statement, "status": cause.status.value, "cause": cause.key,
            "count": len(cause.outcomes), "operations": cause.operations, "example": shown}


def as_json(run: Run) -> str:
    data: dict[str, Any] = {"base_url": run.base_url, **_run_json(run), "variants": [{
        "variant": r.variant, "conforms": r.conforms, "verdict": r.verdict()[0],
        "headline": headline(r), "checks": list(r.groups),
        "reasons": r.verdict()[1], "notes": r.notes, "cases": r.cases,
        "seconds": round(r.seconds, 2),
        "durations": {name: round(took, 2) for name, took in r.durations.items()},
        "failed": [v.id for v in r.failed], "unobserved": [v.id for v in r.unobserved],
        **({"baseline": vars(delta)} if (delta := run.delta(r)) else {}),
        "statements": [{"id": v.id, "level": v.level, "status": v.status.value,
                        "counts": v.counts(),
                        "outcomes": [{"status": o.status.value, "message": o.message,
                                      "check": o.check, "cause": cause_of(o)}
                                     | ({"answer": _answer(o.exchange, run.secrets, 300)}
                                        if o.exchange is not None and o.status != Status.PASS
                                        else {})
                                     for o in v.outcomes]}
                       for v in r.verdicts],
        "causes": [_cause_json(run, cause) for cause in causes(r)],
        "findings": [{"source": f.source, "operation": f.operation, "mode": f.mode,
                      "message": f.message, "curl": run.replay(o), "cause": cause_of(o)}
                     | ({"answer": _answer(o.exchange, run.secrets, 300)}
                        if o.exchange is not None else {})
                     for f, o in zip(r.findings, findings(r), strict=True)],
        "informational": [{"message": o.message, "curl": run.replay(o)}
                          | ({"answer": _answer(o.exchange, run.secrets, 300)}
                             if o.exchange else {})
                          for o in r.informational]}
        for r in run.reports]}
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _run_json(run: Run) -> dict[str, Any]:
    """What the JSON report says of the run as a whole: where and when it ran, the
    baseline it was compared with, the services it created, removed and left."""
    data: dict[str, Any] = {}
    if run.environment is not None:
        data["environment"] = vars(run.environment)
    if run.baseline is not None:
        data["baseline"] = str(run.baseline.path)
    if run.account is not None:
        data["services"] = run.account.as_json()
    return data


def quote(run: Run, cause: Cause) -> str:
    """One cause as plain text: its count, operations, example, answer and curl line."""
    return "\n".join(line.removeprefix("  ") for line in _cause_lines(run, cause))


def as_junit(run: Run) -> str:
    suites = ET.Element("testsuites", name="cdn-contract conform")
    totals = {"tests": 0, "failures": 0, "skipped": 0}
    for report in run.reports:
        rows = causes(report)
        failed = len(report.failed) + bool(report.findings)
        skipped = sum(v.status == Status.NOT_OBSERVABLE for v in report.verdicts)
        counts = {"tests": len(report.verdicts) + 1, "failures": failed, "skipped": skipped}
        suite = ET.SubElement(suites, "testsuite", {
            "name": f"cdn {report.variant}", **{k: str(v) for k, v in counts.items()},
            "errors": "0", "time": f"{report.seconds:.2f}"})
        totals = {k: totals[k] + counts[k] for k in totals}
        for verdict in report.verdicts:
            case = ET.SubElement(suite, "testcase", classname=f"cdn.{report.variant}",
                                 name=f"{verdict.id} ({verdict.level}): {verdict.text}")
            passes = ", ".join(f"{n} {k}" for k, n in verdict.counts().items())
            details = "\n\n".join([passes, *(quote(run, c) for c in rows
                                             if c.statement == verdict.id)])
            mark = _changed(run.delta(report), verdict.id, verdict.id + " not observed")
            if mark:  # new or fixed since the baseline: a property a CI's viewer shows
                properties = ET.SubElement(case, "properties")
                ET.SubElement(properties, "property", name="baseline", value=mark)
                details = f"{mark} since the baseline\n\n{details}"
            if verdict.status == Status.FAIL:
                ET.SubElement(case, "failure", message=f"{verdict.id} fails"
                              + (f" ({mark} since the baseline)" if mark else "")
                              ).text = details
            elif verdict.status == Status.NOT_OBSERVABLE:
                ET.SubElement(case, "skipped", message="not observable").text = details
            else:
                ET.SubElement(case, "system-out").text = details
        fuzz = ET.SubElement(suite, "testcase", classname=f"cdn.{report.variant}",
                             name="findings: schemathesis, and the spec's own facts")
        spec = [c for c in rows if c.statement == SPEC]
        if report.findings:
            delta = run.delta(report)
            new_ones = sum(item.startswith("finding") for item in delta.new) if delta else 0
            failure = ET.SubElement(fuzz, "failure", message=f"{len(report.findings)} finding(s)"
                                    + (f", {new_ones} new since the baseline" if delta else ""))
            failure.text = "\n\n".join(quote(run, c) for c in spec if c.status == Status.FAIL)
        if said := [c for c in spec if c.status == Status.INFO]:
            ET.SubElement(fuzz, "system-out").text = "\n\n".join(quote(run, c) for c in said)
    suites.attrib.update({k: str(v) for k, v in totals.items()}, errors="0")
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


def _changed(delta: Delta | None, *items: str) -> str:
    """`new` or `fixed` when one of `items` (a statement, a statement not observed, a
    finding's key) changed since the baseline, else ``."""
    if delta is None:
        return ""
    return "new" if set(items) & set(delta.new) else \
        "fixed" if set(items) & set(delta.fixed) else ""


def as_har(run: Run) -> str:
    from contract import __version__
    from contract.recorded.har import as_har as har

    return har(run.exchanges, run.secrets, "cdn-contract conform", __version__)


_STYLE = """
body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:72rem;padding:0 1rem}
table{border-collapse:collapse;width:100%}
td,th{border-bottom:1px solid #ddd;padding:.3rem .5rem;text-align:left;vertical-align:top}
.pass{color:#17663a}.fail{color:#b00020;font-weight:600}.warning{color:#8a5a00}
.not-observable,.info{color:#666}h2 .ok{color:#17663a}h2 .ko{color:#b00020}
pre{background:#f5f5f5;padding:.5rem;white-space:pre-wrap;word-break:break-all}
code{background:#f0f0f0;padding:0 .2rem}.cause{margin:.4rem 0 1rem}
.environment th{width:9rem;color:#555;font-weight:normal}.rollup{margin:1rem 0}
.badge{border-radius:.6rem;font-size:.8em;margin-left:.4rem;padding:0 .45rem}
.badge.new{background:#b00020;color:#fff}.badge.fixed{background:#17663a;color:#fff}
.filter{display:inline-block;margin:1rem 0 1rem .3rem;font-weight:600}
#failures-only:checked ~ main tr.statement:not(.is-fail),
#failures-only:checked ~ main .cause:not(.fail),
#failures-only:checked ~ main details.passes{display:none}
"""


def _markdown(text: str) -> str:
    """A statement's text (inline CommonMark: `code`, *emphasis*) as HTML, raw HTML
    escaped."""
    from markdown_it import MarkdownIt

    rendered: str = MarkdownIt("commonmark", {"html": False}).renderInline(text)
    return rendered


def _css(status: Status) -> str:
    return status.value.replace(" ", "-")


def as_html(run: Run) -> str:
    """One self-contained page (no script, no network): the environment and a roll-up
    of every variant on the first screen, each linking to its section; the services the
    run left; a "failures only" switch (a checkbox the style sheet reads); then per
    variant its summary, its statements and its findings."""
    e = html.escape
    parts = [f"<!doctype html><html lang=en><meta charset=utf-8><title>Conformance of "
             f"{e(run.base_url)}</title><style>{_STYLE}</style><h1>Conformance of "
             f"<code>{e(run.base_url)}</code></h1>", _environment_html(run),
             _rollup_html(run)]
    if run.account is not None:
        parts.append(_account_html(run.account))
    parts.append("<input type=checkbox id=failures-only><label class=filter "
                 "for=failures-only>Show failures only</label><main>")
    parts += [_variant_html(run, report) for report in run.reports]
    if note := secrets_note(run.secrets):
        parts.append(f"<p>curl: {e(note)}</p>")
    parts.append("</main></html>\n")
    return "\n".join(parts)


def _environment_html(run: Run) -> str:
    """Where and when the run ran: the target, the date, the version, the command."""
    e = html.escape
    rows = [("target", f"<code>{e(run.base_url)}</code>")]
    if (env := run.environment) is not None:
        rows += [("date", e(env.started)), ("cdn-contract", e(env.version)),
                 ("command", f"<code>{e(env.command)}</code>")]
    if run.baseline is not None:
        rows.append(("baseline", f"<code>{e(str(run.baseline.path))}</code>"))
    return "<table class=environment>" + "".join(
        f"<tr><th>{name}<td>{value}</tr>" for name, value in rows) + "</table>"


def _rollup_html(run: Run) -> str:
    """A line per variant: its verdict, linked to its section, what failed, the counts
    of statements per result, its cases and seconds (and, with a baseline, what is new
    and what was fixed)."""
    e = html.escape
    baseline = run.baseline is not None
    rows = ["<table class=rollup><tr><th>variant<th>verdict<th>failed<th>statements"
            "<th>cases<th>seconds" + ("<th>since the baseline" if baseline else "") + "</tr>"]
    for report in run.reports:
        v, word = report.variant, report.verdict()[0]
        counts = Counter(verdict.status.value for verdict in report.verdicts)
        failed = ", ".join(f"<a href=#{e(v)}-{e(x.id)}>{e(x.id)}</a>" for x in report.failed)
        found = f" + {len(report.findings)} finding(s)" if report.findings else ""
        delta = run.delta(report)
        since = f"<td>{e(delta.line().removeprefix('against the baseline: '))}" \
            if delta else ""
        rows.append(f"<tr class=variant><td><a href=#variant-{e(v)}>{e(v)}</a>"
                    f"<td class={_VERDICT_CSS[word]}>{e(word)}"
                    f"<td>{failed or '—'}{e(found)}"
                    f"<td>{e(', '.join(f'{n} {k}' for k, n in counts.items()))}"
                    f"<td>{report.cases}<td>{report.seconds:.1f}{since}</tr>")
    return "".join(rows) + "</table>"


_VERDICT_CSS = {"CONFORMS": "pass", "NOT SHOWN TO CONFORM": "warning",
                "DOES NOT CONFORM": "fail"}


def _account_html(account: Account) -> str:
    """The services the run created, removed and left, each left one with why and the
    curl line that deletes it."""
    e = html.escape
    left = "".join(f"<li><code>{e(x.service)}</code> (project {e(x.project)}): {e(x.why)}"
                   f"<pre class=delete>{e(x.delete)}</pre>" for x in account.left)
    created = "".join(f"<li><code>{e(s)}</code> (project {e(p)})" for p, s in account.created)
    return (f"<section id=services><p>{e(account.line())}</p>"
            + (f"<ul class=left>{left}</ul>" if left else "")
            + (f"<details><summary>the {len(account.created)} services created</summary>"
               f"<ul>{created}</ul></details>" if created else "") + "</section>")


def _variant_html(run: Run, report: VariantReport) -> str:
    """A variant's section: its headline, summary, table of statements, findings and
    the seconds each check took."""
    e = html.escape
    rows = causes(report)
    by_statement: dict[str, list[Cause]] = {}
    for cause in rows:
        by_statement.setdefault(cause.statement, []).append(cause)
    v = report.variant
    word = report.verdict()[0]
    state = f"<span class={'ok' if report.conforms else 'ko'}>{e(word.lower())}</span>"
    delta = run.delta(report)
    parts = [f"<section id=variant-{e(v)}><h2>{e(headline(report)).replace(word, state, 1)}"
             f"</h2><p>{report.cases} generated cases in {report.seconds:.1f} s."
             + (f" {e(delta.line())}." if delta else "") + "</p>",
             _links(report, by_statement),
             "<table class=statements><tr><th>statement<th>level<th>result<th>observations"
             "</tr>"]
    parts += [_statement_html(run, report, verdict, by_statement.get(verdict.id, []))
              for verdict in report.verdicts]
    parts.append("</table>")
    if spec := by_statement.get(SPEC):
        parts.append(f"<h3 id={e(v)}-findings>Findings, and where the target is "
                     "stricter than the contract</h3>")
        parts += [_cause_html(run, v, cause, _finding_mark(delta, cause)) for cause in spec]
    parts.append(_durations_html(report))
    return "\n".join(parts) + "</section>"


def _statement_html(run: Run, report: VariantReport, verdict: StatementVerdict,
                    mine: list[Cause]) -> str:
    """A statement's row: its text, level, result (marked new or fixed since the
    baseline), its causes and its passes, collapsed."""
    e, v = html.escape, report.variant
    passes = verdict.counts().get(Status.PASS.value, 0)
    shown = "".join(_cause_html(run, v, cause) for cause in mine)
    if passes:  # collapsed, and one line per kind of pass
        kinds = Counter(steady(o.message) for o in verdict.outcomes if o.status == Status.PASS)
        listed = "".join(f"<li>{n} x {e(kind)}" if n > 1 else f"<li>{e(kind)}"
                         for kind, n in kinds.items())
        shown += f"<details class=passes><summary>{passes} pass</summary><ul>{listed}</ul>" \
            "</details>"
    mark = _changed(run.delta(report), verdict.id, verdict.id + " not observed")
    badge = f"<span class='badge {mark}'>{mark}</span>" if mark else ""
    failed = " is-fail" if verdict.status == Status.FAIL else ""
    return (f"<tr class='statement{failed}' id={e(v)}-{e(verdict.id)}><td><b>{e(verdict.id)}"
            f"</b><br>{_markdown(verdict.text)}<td>{e(verdict.level)}"
            f"<td class={_css(verdict.status)}>{e(verdict.status.value)}{badge}"
            f"<td>{shown}</tr>")


def _finding_mark(delta: Delta | None, cause: Cause) -> str:
    """`new` when a finding of this cause was not in the baseline."""
    if delta is None or cause.status != Status.FAIL:
        return ""
    return "new" if any(item.startswith("finding") and item.endswith(f": {cause.key}")
                        for item in delta.new) else ""


def _durations_html(report: VariantReport) -> str:
    """The seconds each check and phase took, the slowest first (collapsed)."""
    if not report.durations:
        return ""
    rows = "".join(f"<tr><td>{html.escape(name)}<td>{took:.2f}</tr>" for name, took in
                   sorted(report.durations.items(), key=lambda item: -item[1]))
    return (f"<details class=durations><summary>durations ({report.seconds:.1f} s in "
            f"all)</summary><table><tr><th>check<th>seconds</tr>{rows}</table></details>")


def _links(report: VariantReport, by_statement: dict[str, list[Cause]]) -> str:
    """The summary: a link to each statement that failed, warned or is a MUST left
    unobserved, and to each of its causes; the rest as counts."""
    e, v = html.escape, report.variant
    items = []
    shown = [verdict for verdict in report.verdicts if verdict.id in by_statement and (
        verdict.status in (Status.FAIL, Status.WARNING) or verdict in report.unobserved)]
    for verdict in shown:
        inner = "".join(f"<li><a href=#{e(v)}-{c.anchor}>{e(_MARK[c.status])} x"
                        f"{len(c.outcomes)}: {e(c.example.message.splitlines()[0])}</a>"
                        for c in by_statement[verdict.id])
        items.append(f"<li class={_css(verdict.status)}><a href=#{e(v)}-{e(verdict.id)}>"
                     f"{e(verdict.id)} {e(verdict.status.value)}</a><ul>{inner}</ul>")
    spec = by_statement.get(SPEC, [])
    if spec:
        items.append(f"<li><a href=#{e(v)}-findings>{len(report.findings)} finding(s), "
                     f"{sum(c.status == Status.INFO for c in spec)} informational row(s)</a>")
    passed = sum(verdict.status == Status.PASS for verdict in report.verdicts)
    unseen = sum(verdict.status == Status.NOT_OBSERVABLE and verdict not in shown
                 for verdict in report.verdicts)
    items.append(f"<li class=pass>{passed} statement(s) pass")
    items.append(f"<li class=not-observable>{unseen} more not observable here")
    return f"<ul class=summary>{''.join(items)}</ul>"


def _cause_html(run: Run, variant: str, cause: Cause, mark: str = "") -> str:
    e = html.escape
    example = cause.example
    operations = ", ".join(cause.operations)
    quoted = "\n".join(answer_lines(example.exchange, run.secrets)) \
        if example.exchange is not None else ""
    replay = run.replay(example)
    return (f"<div class='cause {_css(cause.status)}' id={e(variant)}-{cause.anchor}>"
            f"<b>{e(cause.status.value)} x{len(cause.outcomes)}</b>"
            + (f"<span class='badge {mark}'>{mark}</span>" if mark else "")
            + (f" in {e(operations)}" if operations else "")
            + f": {e(example.message)}"
            + (f"<pre class=answer>{e(quoted)}</pre>" if quoted else "")
            + (f"<pre class=curl>{e(replay)}</pre>" if replay else "") + "</div>")
