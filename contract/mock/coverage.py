"""What a client's test run exercised of the contract, counted by the mock (Specmatic's API
coverage, for a client author): each operation x documented status (served or not, how
often), each statement the requests could exercise, the behaviours drawn, the faults
injected, and the requests the contract refused, with why.

Counting is a few dictionary increments per request (every request, whatever the
journal's bound); the report is made from the counts and the spec when it is asked for
(`GET /__mock__/coverage`, `mock --coverage FILE` at exit).
"""

from __future__ import annotations

import html
import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from contract.checks.routing import Operation
from contract.errors import InputError
from contract.mock.journal import Served, cited
from contract.mock.touched import StatementIndex

SUFFIXES = (".json", ".html", ".md")
MAX_KEYS = 10_000  # distinct counts kept (a hostile client's endless variety is lumped)
REASONS_SHOWN = 50  # distinct refusal reasons a report lists (the most frequent)


class Coverage:
    """The counts of one mock process, over its whole run (POST /__mock__/reset, which a
    suite sends between its tests, keeps them)."""

    def __init__(self) -> None:
        # (operation, status, query names, a 4xx's or 5xx's body) → requests
        self.exchanges: Counter[tuple[str | None, int, tuple[str, ...], bytes]] = Counter()
        self.behaviours: Counter[str] = Counter()
        self.faults: Counter[str] = Counter()
        self.refusals: Counter[tuple[str, int, bytes]] = Counter()
        self.requests = 0

    def count(self, served: Served) -> None:
        """One request: a tuple and a dictionary increment (what a refusal cites and why
        it was refused are read from its body when a report is made)."""
        self.requests += 1
        response = served.response
        status = response.status if response is not None else 0
        body = response.body if status >= 400 and response is not None else b""
        key = (served.operation, status, tuple([name for name, _ in served.request.query]),
               body)
        exchanges = self.exchanges
        if key in exchanges:
            exchanges[key] += 1
        elif len(exchanges) < MAX_KEYS:
            exchanges[key] = 1
        else:  # a client sending endless variety: its counts lumped, still counted
            exchanges[(served.operation, status, (), b"")] += 1
        if served.behaves:
            self.behaviours.update(served.behaves)
        if served.fault:
            self.faults[served.fault] += 1
        if served.refused:
            self._refused(served, status, body)

    def _refused(self, served: Served, status: int, body: bytes) -> None:
        what = served.operation or f"{served.request.method} {served.request.path}"[:200]
        key = (what, status, body)
        if key not in self.refusals and len(self.refusals) >= MAX_KEYS:
            key = ("(more)", status, b"")
        self.refusals[key] += 1

    def report(self, variant: str, operations: list[Operation], index: StatementIndex
               ) -> dict[str, Any]:
        """The coverage of this variant's contract, as JSON."""
        served: Counter[tuple[str | None, int]] = Counter()
        statements: Counter[str] = Counter()
        for (operation, status, query, body), count in self.exchanges.items():
            served[(operation, status)] += count
            for sid in index.touched(operation, query, status, cited(body)):
                statements[sid] += count
        rows = [_operation(op, served) for op in operations]
        documented = sum(len(row["statuses"]) for row in rows)
        reached = sum(1 for row in rows for s in row["statuses"].values() if s["count"])
        universe = index.universe + sorted(set(statements) - set(index.universe))
        return {
            "variant": variant, "requests": self.requests,
            "summary": {"operations": len(rows),
                        "operations_served": sum(1 for row in rows if row["count"]),
                        "statuses": documented, "statuses_served": reached,
                        "statements": len(universe),
                        "statements_exercised": sum(1 for s in universe if statements[s]),
                        "refused": sum(self.refusals.values())},
            "operations": rows,
            "undocumented": [{"operation": op, "status": status, "count": count}
                             for (op, status), count in sorted(served.items(), key=str)
                             if not _documented(op, status, operations)],
            "statements": [{"id": sid, "level": index.levels.get(sid, ""),
                            "exercised": bool(statements[sid]), "count": statements[sid]}
                           for sid in universe],
            "behaviours": dict(sorted(self.behaviours.items())),
            "faults": dict(sorted(self.faults.items())),
            "refused": self._reasons()}

    def _reasons(self) -> list[dict[str, Any]]:
        """The refusals, the most frequent first, by what was refused and why."""
        reasons: Counter[tuple[str, int, str]] = Counter()
        for (what, status, body), count in self.refusals.items():
            reasons[(what, status, _reason(body))] += count
        return [{"request": what, "status": status, "reason": reason, "count": count}
                for (what, status, reason), count in reasons.most_common(REASONS_SHOWN)]


def _operation(operation: Operation, served: Counter[tuple[str | None, int]]
               ) -> dict[str, Any]:
    statuses = {str(status): {"served": bool(served[(operation.id, status)]),
                              "count": served[(operation.id, status)]}
                for status in operation.statuses}
    return {"operation": operation.id, "method": operation.method,
            "path": operation.template, "count": sum(s["count"] for s in statuses.values()),
            "statuses": statuses}


def _documented(operation: str | None, status: int, operations: list[Operation]) -> bool:
    return any(op.id == operation and status in op.statuses for op in operations)


def _reason(body: bytes) -> str:
    """The refusal's messages (the documented error body, S16), joined."""
    try:
        errors = json.loads(body)["message"]["errors"]
        return "; ".join(str(error["message"]) for error in errors)
    except (ValueError, KeyError, TypeError):
        return body[:200].decode("utf-8", "replace")


# -- the report's forms: JSON, HTML, markdown (a CI summary), the terminal's lines ------------

def summary(report: dict[str, Any]) -> str:
    """The few lines printed at exit."""
    s = report["summary"]
    missing = [f"{row['operation']} {status}" for row in report["operations"]
               for status, seen in row["statuses"].items() if not seen["served"]]
    lines = [f"coverage ({report['variant']}, {report['requests']} requests): "
             f"operations {s['operations_served']}/{s['operations']}, documented statuses "
             f"{s['statuses_served']}/{s['statuses']}, statements "
             f"{s['statements_exercised']}/{s['statements']}, refused {s['refused']}"]
    if missing:
        lines.append(f"never served: {', '.join(missing[:12])}"
                     + (f" and {len(missing) - 12} more" if len(missing) > 12 else ""))
    if report["behaviours"]:
        lines.append("behaviours drawn: " + ", ".join(
            f"{name} x{count}" for name, count in report["behaviours"].items()))
    if report["faults"]:
        lines.append("faults: " + ", ".join(
            f"{name} x{count}" for name, count in report["faults"].items()))
    return "\n".join(lines)


def markdown(report: dict[str, Any]) -> str:
    s = report["summary"]
    lines = [f"# Contract coverage ({report['variant']})", "",
             f"{report['requests']} requests; documented statuses served "
             f"{s['statuses_served']}/{s['statuses']}; statements exercised "
             f"{s['statements_exercised']}/{s['statements']}; refused by the contract "
             f"{s['refused']}.", "", "| operation | status | served |", "|---|---|---|"]
    lines += [f"| {row['operation']} | {status} | {seen['count'] or '**never**'} |"
              for row in report["operations"] for status, seen in row["statuses"].items()]
    lines += ["", "| statement | level | exercised |", "|---|---|---|"]
    lines += [f"| {row['id']} | {row['level']} | {row['count'] or '**no**'} |"
              for row in report["statements"]]
    if report["refused"]:
        lines += ["", "| refused request | status | why | count |", "|---|---|---|---|"]
        lines += [f"| {r['request']} | {r['status']} | {r['reason'].replace('|', '/')} | "
                  f"{r['count']} |" for r in report["refused"]]
    for title in ("behaviours", "faults"):
        if report[title]:
            lines += ["", f"{title.capitalize()}: " + ", ".join(
                f"{name} x{count}" for name, count in report[title].items())]
    return "\n".join(lines) + "\n"


def as_html(report: dict[str, Any]) -> str:
    """A page a browser opens: the markdown's tables as HTML, never served, always escaped."""
    body = []
    for line in markdown(report).splitlines():
        if line.startswith("# "):
            body.append(f"<h1>{html.escape(line[2:])}</h1>")
        elif line.startswith("|---"):
            continue
        elif line.startswith("|"):
            cells = "".join(f"<td>{html.escape(cell.strip().strip('*'))}</td>"
                            for cell in line.strip("|").split(" | "))
            body.append(f"<tr>{cells}</tr>")
        elif line:
            body.append(f"<p>{html.escape(line)}</p>")
    page = "\n".join(body).replace("</p>\n<tr>", "</p>\n<table>\n<tr>")
    page = page.replace("</tr>\n<p>", "</tr>\n</table>\n<p>")
    page = page + "\n</table>" if page.endswith("</tr>") else page
    return ("<!doctype html>\n<meta charset=utf-8>\n<title>Contract coverage</title>\n"
            f"{page}\n")


WRITERS: dict[str, Callable[[dict[str, Any]], str]] = {
    ".json": lambda report: json.dumps(report, indent=1) + "\n",
    ".html": as_html, ".md": markdown}


def check_path(path: Path) -> None:
    """Refuse, before the mock starts, a --coverage FILE it could not write at exit."""
    if path.suffix not in SUFFIXES:
        raise InputError(f"--coverage {path}: the suffix says the form ({', '.join(SUFFIXES)})")
    if not path.parent.is_dir():
        raise InputError(f"--coverage {path}: its folder {path.parent} does not exist")


def write(report: dict[str, Any], path: Path) -> None:
    """Write the report whole (a temporary file renamed: never half-written)."""
    text = WRITERS[path.suffix](report)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)
