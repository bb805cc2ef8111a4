"""Reports of validated exchanges: a table for people, JSON and JUnit XML for CI."""

from __future__ import annotations

import json
from dataclasses import dataclass
from xml.etree import ElementTree as ET

from contract.validation.messages import Exchange
from contract.validation.report_types import Violation
from contract.validation.verdict import Verdict


@dataclass
class ExchangeResult:
    exchange: Exchange
    verdicts: list[Verdict]

    @property
    def valid(self) -> bool:
        return all(v.valid for v in self.verdicts)

    @property
    def warned(self) -> bool:
        return any(v.warnings for v in self.verdicts)


def render_table(results: list[ExchangeResult]) -> str:
    lines: list[str] = []
    for result in results:
        operation = next((v.operation for v in result.verdicts if v.operation), None)
        lines.append(f"{result.exchange.name or 'exchange'}  [{operation or 'no operation'}]"
                     f"  {_exchanged(result.exchange)}")
        lines += [f"  note: {note}" for note in result.exchange.notes]
        for verdict in result.verdicts:
            defaults = ", ".join(f"{k}={json.dumps(v, default=str)}"
                                 for k, v in verdict.defaults.items())
            warned = f", {len(verdict.warnings)} warning(s)" if verdict.warnings else ""
            state = f"valid{warned}" if verdict.valid else \
                f"INVALID ({len(verdict.failures)}{warned})"
            lines.append(f"  {verdict.variant:<8} {state}"
                         + (f"   defaults applied: {defaults}" if defaults else ""))
            width = max((len(v.location) for v in verdict.violations), default=0)
            for violation in verdict.violations:
                lines.append(f"    {violation.location:<{width}}  {_graded(violation)}"
                             f"{violation.message}")
        lines.append("")
    lines += _repeated(results)
    lines.append(summary(results))
    return "\n".join(lines)


SHOWN_TARGET = 120  # characters of a request target the table shows
REPEATED = 10  # violations the table's closing list of the most repeated shows


def _exchanged(exchange: Exchange) -> str:
    """`GET /v1.0/1/services/… → 200`: what was asked and what came back, so that an entry
    of a long HAR needs no look into the file."""
    request = exchange.request
    target = request.url if len(request.url) <= SHOWN_TARGET else \
        request.url[:SHOWN_TARGET] + "…"
    came = f"{exchange.response.status}" if exchange.response is not None else "no response"
    return f"{request.method} {target} → {came}"


def _repeated(results: list[ExchangeResult]) -> list[str]:
    """The violations found in more than one exchange, most first, each once with its count
    and where it was first seen: one cause of a thousand entries reads as one line."""
    seen: dict[tuple[str, str, str], list[str]] = {}
    for result in results:
        for verdict in result.verdicts:
            for violation in verdict.violations:
                key = (verdict.variant, violation.location,
                       f"{_graded(violation)}{violation.message}")
                seen.setdefault(key, []).append(result.exchange.name or "exchange")
    repeated = sorted(((names, key) for key, names in seen.items() if len(names) > 1),
                      key=lambda item: -len(item[0]))
    if not repeated:
        return []
    lines = ["violations found in more than one exchange, most first:"]
    lines += [f"  {len(names)} x {variant}  {location}  {text} (first: {names[0]})"
              for names, (variant, location, text) in repeated[:REPEATED]]
    if len(repeated) > REPEATED:
        lines.append(f"  … and {len(repeated) - REPEATED} more")
    return [*lines, ""]


def _graded(violation: Violation) -> str:
    """`[S21 INTERPRETATION] warning: `, `[S39 SHOULD] `: what it breaks, and how much."""
    if not violation.statements:
        return ""
    kind = "warning: " if violation.warning else ""
    return f"[{' '.join(violation.statements)} {violation.level}] {kind}"


def summary(results: list[ExchangeResult]) -> str:
    variants = [v.variant for v in results[0].verdicts] if results else []
    parts = []
    for variant in variants:
        ok = sum(1 for r in results for v in r.verdicts if v.variant == variant and v.valid)
        warned = sum(len(v.warnings) for r in results for v in r.verdicts
                     if v.variant == variant)
        parts.append(f"{variant}: {ok}/{len(results)} valid"
                     + (f" ({warned} warning(s))" if warned else ""))
    return f"{len(results)} exchange(s); " + "; ".join(parts)


def render_json(results: list[ExchangeResult]) -> str:
    return json.dumps({
        "valid": all(r.valid for r in results),
        "exchanges": [{"name": r.exchange.name, "notes": r.exchange.notes,
                       "method": r.exchange.request.method, "url": r.exchange.request.url,
                       "status": r.exchange.response.status if r.exchange.response else None,
                       "verdicts": [v.as_dict() for v in r.verdicts]} for r in results],
    }, indent=2, default=str)


def render_junit(results: list[ExchangeResult]) -> str:
    root = ET.Element("testsuites", name="cdn-contract validate")
    variants = [v.variant for v in results[0].verdicts] if results else []
    for variant in variants:
        suite = ET.SubElement(root, "testsuite", name=f"contract {variant}")
        failures = 0
        for result in results:
            verdict = next(v for v in result.verdicts if v.variant == variant)
            case = ET.SubElement(suite, "testcase", classname=f"contract.{variant}",
                                 name=f"{result.exchange.name} [{verdict.operation}]")
            if result.exchange.notes:  # what the recording lacked, said beside the verdict
                ET.SubElement(case, "system-out").text = "\n".join(result.exchange.notes)
            if not verdict.valid:
                failures += 1
                text = "\n".join([_exchanged(result.exchange), *(
                    f"{v.location} {_graded(v)}{v.message}" for v in verdict.violations)])
                failure = ET.SubElement(case, "failure",
                                        message=f"{len(verdict.failures)} violation(s)")
                failure.text = text
            elif verdict.warnings:
                ET.SubElement(case, "system-out").text = "\n".join([
                    _exchanged(result.exchange), *(f"{v.location} {_graded(v)}{v.message}"
                                                   for v in verdict.warnings)])
        suite.set("tests", str(len(results)))
        suite.set("failures", str(failures))
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True)
