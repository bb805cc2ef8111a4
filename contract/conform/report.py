"""The conformance report: a summary for the terminal, and JSON, JUnit, HTML and HAR files.

Every report is grouped by cause: the outcomes that are not passes, of every statement and
finding, become one row per cause (`Cause`: how many, the operations they touched, one full
example with the request, the answer quoted and a curl line that sends it again); passes are
counts. The terminal gives the statements not observable for one reason (a service that
never deployed) one row between them. A long request body is not cut: the curl line reads
it from a file beside the report (`Run.bodies`, written by the command with the reports).
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
from contract.conform.secrets import masked_tree
from contract.textsafe import json_safe, visible, xml_safe

if TYPE_CHECKING:  # the runner brings schemathesis; the command line reads this module early
    from contract.conform.runner import VariantReport
    from contract.conform.stopping import Stop


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
    stopped: Stop | None = None  # the run stopped before its end: where, and why

    def __post_init__(self) -> None:
        """Every text of the reports with the secrets masked, once, for every format (a
        target may echo a token or a header into any message)."""
        object.__setattr__(self, "reports", masked_tree(self.reports, self.secrets))

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


def summary(run: Run) -> str:
    lines = []
    for report in run.reports:
        lines.append(f"\n{run.base_url} against the {report.variant} contract "
                     f"({report.cases} generated cases, {report.seconds:.1f} s)")
        lines.append(f"  {'id':<5} {'level':<15} {'result':<7} counts")
        for verdict in report.verdicts:
            counts = ", ".join(f"{n} {k}" for k, n in verdict.counts().items()) or "—"
            lines.append(f"  {verdict.id:<5} {verdict.level:<15} "
                         f"{_MARK[verdict.status]:<7} {counts}")
        rows = _merged(causes(report))
        if rows:
            lines.append(f"  {len(rows)} cause(s) of what did not pass, one example each:")
        for same in rows:
            example = same[0].example
            if same[0].status == Status.NOT_OBSERVABLE and example.exchange is None \
                    and not example.curl:
                lines.append(f"  n/o {', '.join(c.statement for c in same)}: "
                             f"{example.message}")  # one line for all it holds for
            else:
                lines += _cause_lines(run, *same)
        lines += [f"  note: {note}" for note in report.notes]
    if note := secrets_note(run.secrets):
        lines.append(f"  curl: {note}")
    lines.append("")
    for report in run.reports:
        word, why = report.verdict()
        lines.append(headline(report))
        if word == "NOT SHOWN TO CONFORM":  # one line per statement: each says what to do
            lines += [f"  {reason}" for reason in why]
    if run.stopped is not None:
        lines.append(run.stopped.line())
    return visible("\n".join(lines))


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
    example = cause.example
    both = (cause, *also)
    operations = sorted({operation for c in both for operation in c.operations})
    touched = f" in {len(operations)} operation(s): {', '.join(operations[:3])}" + (
        ", …" if len(operations) > 3 else "") if operations else ""
    text = example.message.splitlines() or [""]
    lines = [f"  {_MARK[cause.status]} {', '.join(c.statement for c in both)} "
             f"x{sum(len(c.outcomes) for c in both)}{touched}: {text[0]}"]
    lines += [f"        {line.strip()}" for line in text[1:]
              if line.strip().startswith("- ")][:EXAMPLE_LINES]
    if example.exchange is not None:
        lines += [f"      {line}" for line in answer_lines(example.exchange, run.secrets)]
    if replay := run.replay(example):
        lines.append(f"      {replay}")
    return lines


def _request(response: httpx.Response, secrets: dict[str, str]) -> dict[str, Any]:
    request = response.request
    return {"method": request.method, "url": masked(str(request.url), secrets),
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
    data: dict[str, Any] = {"base_url": run.base_url, "variants": [{
        "variant": r.variant, "conforms": r.conforms, "verdict": r.verdict()[0],
        "headline": headline(r), "checks": list(r.groups),
        "reasons": r.verdict()[1], "notes": r.notes, "cases": r.cases,
        "seconds": round(r.seconds, 2),
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
    if run.stopped is not None:
        data["stopped"] = run.stopped.as_json()
    return json_safe(json.dumps(masked_tree(data, run.secrets), indent=2,
                                ensure_ascii=False)) + "\n"


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
            if verdict.status == Status.FAIL:
                ET.SubElement(case, "failure", message=f"{verdict.id} fails").text = details
            elif verdict.status == Status.NOT_OBSERVABLE:
                ET.SubElement(case, "skipped", message="not observable").text = details
            else:
                ET.SubElement(case, "system-out").text = details
        fuzz = ET.SubElement(suite, "testcase", classname=f"cdn.{report.variant}",
                             name="findings: schemathesis, and the spec's own facts")
        spec = [c for c in rows if c.statement == SPEC]
        if report.findings:
            failure = ET.SubElement(fuzz, "failure", message=f"{len(report.findings)} finding(s)")
            failure.text = "\n\n".join(quote(run, c) for c in spec if c.status == Status.FAIL)
        if said := [c for c in spec if c.status == Status.INFO]:
            ET.SubElement(fuzz, "system-out").text = "\n\n".join(quote(run, c) for c in said)
    suites.attrib.update({k: str(v) for k, v in totals.items()}, errors="0")
    if run.stopped is not None:
        run.stopped.junit(suites)
    ET.indent(suites)
    return xml_safe(ET.tostring(suites, encoding="unicode", xml_declaration=True)) + "\n"


def as_har(run: Run) -> str:
    from contract import __version__
    from contract.recorded.har import as_har as har

    return har(run.exchanges, "cdn-contract conform", __version__,
               lambda text: masked(text, run.secrets))


_STYLE = """
body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:72rem;padding:0 1rem}
table{border-collapse:collapse;width:100%}
td,th{border-bottom:1px solid #ddd;padding:.3rem .5rem;text-align:left;vertical-align:top}
.pass{color:#17663a}.fail{color:#b00020;font-weight:600}.warning{color:#8a5a00}
.not-observable,.info{color:#666}h2 .ok{color:#17663a}h2 .ko{color:#b00020}
pre{background:#f5f5f5;padding:.5rem;white-space:pre-wrap;word-break:break-all}
code{background:#f0f0f0;padding:0 .2rem}.cause{margin:.4rem 0 1rem}
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
    e = html.escape
    parts = [f"<!doctype html><html lang=en><meta charset=utf-8><title>Conformance of "
             f"{e(run.base_url)}</title><style>{_STYLE}</style><h1>Conformance of "
             f"<code>{e(run.base_url)}</code></h1>"]
    if run.stopped is not None:
        parts.append(f"<p class=fail>{e(run.stopped.line())}</p>")
    for report in run.reports:
        rows = causes(report)
        by_statement: dict[str, list[Cause]] = {}
        for cause in rows:
            by_statement.setdefault(cause.statement, []).append(cause)
        v = report.variant
        word = report.verdict()[0]
        state = f"<span class={'ok' if report.conforms else 'ko'}>{e(word.lower())}</span>"
        parts.append(f"<h2>{e(headline(report)).replace(word, state, 1)}</h2>"
                     f"<p>{report.cases} generated cases in {report.seconds:.1f} s.</p>")
        parts.append(_links(report, by_statement))
        parts.append("<table><tr><th>statement<th>level<th>result<th>observations</tr>")
        for verdict in report.verdicts:
            mine = by_statement.get(verdict.id, [])
            passes = verdict.counts().get(Status.PASS.value, 0)
            shown = "".join(_cause_html(run, v, cause) for cause in mine)
            if passes:  # collapsed, and one line per kind of pass
                kinds = Counter(steady(o.message) for o in verdict.outcomes
                                if o.status == Status.PASS)
                listed = "".join(f"<li>{n} x {e(kind)}" if n > 1 else f"<li>{e(kind)}"
                                 for kind, n in kinds.items())
                shown += f"<details><summary>{passes} pass</summary><ul>{listed}</ul></details>"
            parts.append(f"<tr id={e(v)}-{e(verdict.id)}><td><b>{e(verdict.id)}</b><br>"
                         f"{_markdown(verdict.text)}<td>{e(verdict.level)}"
                         f"<td class={_css(verdict.status)}>{e(verdict.status.value)}"
                         f"<td>{shown}</tr>")
        parts.append("</table>")
        if spec := by_statement.get(SPEC):
            parts.append(f"<h3 id={e(v)}-findings>Findings, and where the target is "
                         "stricter than the contract</h3>")
            parts += [_cause_html(run, v, cause) for cause in spec]
    if note := secrets_note(run.secrets):
        parts.append(f"<p>curl: {e(note)}</p>")
    parts.append("</html>\n")
    return visible("\n".join(parts))


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


def _cause_html(run: Run, variant: str, cause: Cause) -> str:
    e = html.escape
    example = cause.example
    operations = ", ".join(cause.operations)
    quoted = "\n".join(answer_lines(example.exchange, run.secrets)) \
        if example.exchange is not None else ""
    replay = run.replay(example)
    return (f"<div class='cause {_css(cause.status)}' id={e(variant)}-{cause.anchor}>"
            f"<b>{e(cause.status.value)} x{len(cause.outcomes)}</b>"
            + (f" in {e(operations)}" if operations else "")
            + f": {e(example.message)}"
            + (f"<pre class=answer>{e(quoted)}</pre>" if quoted else "")
            + (f"<pre class=curl>{e(replay)}</pre>" if replay else "") + "</div>")
