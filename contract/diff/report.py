"""Diff reports: a table for people, Markdown for docs and pull requests, JSON for tools."""

from __future__ import annotations

import json

from contract.diff.compare import Change, Severity

_ORDER = {Severity.BREAKING: 0, Severity.POTENTIALLY_BREAKING: 1, Severity.NON_BREAKING: 2}


def _sorted(changes: list[Change]) -> list[Change]:
    return sorted(changes, key=lambda c: (min(_ORDER[c.clients], _ORDER[c.servers]),
                                          c.pointer, c.kind))


def counts(changes: list[Change]) -> str:
    def count(side: str, severity: Severity) -> int:
        return sum(1 for c in changes if getattr(c, side) is severity)

    return (f"{len(changes)} change(s); clients: {count('clients', Severity.BREAKING)} "
            f"breaking, {count('clients', Severity.POTENTIALLY_BREAKING)} potentially; "
            f"servers: {count('servers', Severity.BREAKING)} breaking, "
            f"{count('servers', Severity.POTENTIALLY_BREAKING)} potentially")


def render_table(changes: list[Change]) -> str:
    lines = [f"{'clients':<21} {'servers':<21} change"]
    for change in _sorted(changes):
        cited = f" [{' '.join(change.statements)}]" if change.statements else ""
        lines.append(f"{change.clients.value:<21} {change.servers.value:<21} "
                     f"{change.message}{cited}")
        lines.append(f"{'':<43} at {change.pointer}")
    lines.append(counts(changes))
    return "\n".join(lines)


def render_markdown(changes: list[Change]) -> str:
    lines = ["| for clients | for servers | change | statements | where |",
             "| --- | --- | --- | --- | --- |"]
    for change in _sorted(changes):
        message = change.message.replace("|", "\\|")
        lines.append(f"| {change.clients.value} | {change.servers.value} | {message} | "
                     f"{', '.join(change.statements) or '—'} | `{change.pointer}` |")
    return "\n".join(lines) + f"\n\n{counts(changes)}\n"


def render_json(changes: list[Change]) -> str:
    return json.dumps({"summary": counts(changes),
                       "changes": [c.as_dict() for c in _sorted(changes)]}, indent=2)


def trips(changes: list[Change], fail_on: str) -> bool:
    if fail_on == "none":
        return False
    if fail_on == "any":
        return bool(changes)
    return any(Severity.BREAKING in (c.clients, c.servers) for c in changes)
