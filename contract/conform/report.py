"""The conformance report: a summary for the terminal, and JSON, JUnit and HTML files."""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from xml.etree import ElementTree as ET

from contract.conform.outcome import Status

if TYPE_CHECKING:  # the runner brings schemathesis; the command line reads this module early
    from contract.conform.runner import VariantReport

@dataclass(frozen=True)
class Run:
    """What a report of a conformance run shows: the variants' reports and the target."""

    reports: list[VariantReport]
    base_url: str


_MARK = {Status.PASS: "pass", Status.FAIL: "FAIL", Status.WARNING: "warn",
         Status.NOT_OBSERVABLE: "n/o"}


def summary(run: Run) -> str:
    reports, base_url = run.reports, run.base_url
    lines = []
    for report in reports:
        lines.append(f"\n{base_url} against the {report.variant} contract "
                     f"({report.cases} generated cases, {report.seconds:.1f} s)")
        lines.append(f"  {'id':<5} {'level':<15} {'result':<7} counts")
        for verdict in report.verdicts:
            counts = ", ".join(f"{n} {k}" for k, n in verdict.counts().items()) or "—"
            lines.append(f"  {verdict.id:<5} {verdict.level:<15} "
                         f"{_MARK[verdict.status]:<7} {counts}")
            for outcome in verdict.outcomes:
                if outcome.status in (Status.FAIL, Status.WARNING, Status.NOT_OBSERVABLE):
                    lines.append(f"        {_MARK[outcome.status]}: {outcome.message}")
                    if outcome.curl:
                        lines.append(f"          {outcome.curl}")
        for finding in report.findings:
            headline = finding.message.splitlines()[0] if finding.message else ""
            lines.append(f"  {finding.source}: {finding.operation} ({finding.mode}): {headline}")
            for line in finding.message.splitlines()[1:]:
                if line.strip().startswith("- "):
                    lines.append(f"      {line.strip()}")
            lines.append(f"          {finding.curl}")
        lines += [f"  note: {note}" for note in report.notes]
    lines.append("")
    for report in reports:
        word, why = report.verdict()
        if word == "NOT SHOWN TO CONFORM":  # one line per statement: each says what to do
            lines += [f"{report.variant}: {word}", *(f"  {reason}" for reason in why)]
        else:
            lines.append(f"{report.variant}: {word}" + (f" ({', '.join(why)})" if why else ""))
    return "\n".join(lines)


def as_json(run: Run) -> str:
    reports, base_url = run.reports, run.base_url
    data: dict[str, Any] = {"base_url": base_url, "variants": [{
        "variant": r.variant, "conforms": r.conforms, "verdict": r.verdict()[0],
        "reasons": r.verdict()[1], "notes": r.notes, "cases": r.cases,
        "seconds": round(r.seconds, 2),
        "statements": [{"id": v.id, "level": v.level, "status": v.status.value,
                        "counts": v.counts(),
                        "outcomes": [{"status": o.status.value, "message": o.message,
                                      "check": o.check, "curl": o.curl} for o in v.outcomes]}
                       for v in r.verdicts],
        "findings": [{"source": f.source, "operation": f.operation, "mode": f.mode,
                      "message": f.message, "curl": f.curl} for f in r.findings]}
        for r in reports]}
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def as_junit(run: Run) -> str:
    reports = run.reports
    suites = ET.Element("testsuites", name="cdn-contract conform")
    totals = {"tests": 0, "failures": 0, "skipped": 0}
    for report in reports:
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
            details = "\n".join(f"{o.status.value}: {o.message}\n{o.curl}"
                                for o in verdict.outcomes)
            if verdict.status == Status.FAIL:
                ET.SubElement(case, "failure", message=f"{verdict.id} fails").text = details
            elif verdict.status == Status.NOT_OBSERVABLE:
                ET.SubElement(case, "skipped", message="not observable").text = details
            else:
                ET.SubElement(case, "system-out").text = details
        fuzz = ET.SubElement(suite, "testcase", classname=f"cdn.{report.variant}",
                             name="findings: schemathesis, and the spec's own facts")
        if report.findings:
            failure = ET.SubElement(fuzz, "failure", message=f"{len(report.findings)} finding(s)")
            failure.text = "\n\n".join(f"{f.source}: {f.operation} ({f.mode})\n{f.message}\n"
                                        f"{f.curl}" for f in report.findings)
    suites.attrib.update({k: str(v) for k, v in totals.items()}, errors="0")
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


_STYLE = """
body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:72rem;padding:0 1rem}
table{border-collapse:collapse;width:100%}
td,th{border-bottom:1px solid #ddd;padding:.3rem .5rem;text-align:left;vertical-align:top}
.pass{color:#17663a}.fail{color:#b00020;font-weight:600}.warning{color:#8a5a00}
.not-observable{color:#666}h2 .ok{color:#17663a}h2 .ko{color:#b00020}
pre{background:#f5f5f5;padding:.5rem;white-space:pre-wrap;word-break:break-all}
"""


def as_html(run: Run) -> str:
    reports, base_url = run.reports, run.base_url
    e = html.escape
    parts = [f"<!doctype html><html lang=en><meta charset=utf-8><title>Conformance of "
             f"{e(base_url)}</title><style>{_STYLE}</style><h1>Conformance of "
             f"<code>{e(base_url)}</code></h1>"]
    for report in reports:
        word, why = report.verdict()
        state = f"<span class={'ok' if report.conforms else 'ko'}>{e(word.lower())}</span>"
        reasons = "".join(f"<li>{e(reason)}" for reason in why)
        parts.append(f"<h2>{e(report.variant)}: {state}</h2>"
                     + (f"<ul class=why>{reasons}</ul>" if why else "")
                     + f"<p>{report.cases} generated cases in {report.seconds:.1f} s.</p>"
                     "<table><tr><th>statement<th>level<th>result<th>observations</tr>")
        for verdict in report.verdicts:
            css = verdict.status.value.replace(" ", "-")
            items = "".join(
                f"<li class={o.status.value.replace(' ', '-')}>{e(o.status.value)}: "
                f"{e(o.message)}" + (f"<pre class=curl>{e(o.curl)}</pre>" if o.curl and
                                     o.status != Status.PASS else "")
                + "</li>"
                for o in verdict.outcomes)
            parts.append(f"<tr><td><b>{e(verdict.id)}</b><br>{e(verdict.text)}<td>"
                         f"{e(verdict.level)}<td class={css}>{e(verdict.status.value)}"
                         f"<td><ul>{items}</ul></tr>")
        parts.append("</table>")
        if report.findings:
            parts.append("<h3>Findings</h3>")
            for finding in report.findings:
                parts.append(f"<h4>{e(finding.source)}: {e(finding.operation)} "
                             f"({e(finding.mode)})</h4>"
                             f"<pre>{e(finding.message)}</pre><pre>{e(finding.curl)}</pre>")
    parts.append("</html>\n")
    return "\n".join(parts)
