"""A previous run's JSON report as a baseline: what newly fails, what was fixed, what stays.

A vendor with known divergences gates its CI on what changed: `--baseline FILE` (an earlier
`--json` report) names, per variant, what blocks the gate now that did not before (`new`),
what blocked before and does not now (`fixed`) and what blocks both times (`stays`);
`--fail-on new` exits 1 only on something new. What blocks is a failed statement (`S16`), a
finding (`finding: <operation>: <cause>`, its cause without the values that vary from run
to run) and a MUST statement left unobserved (`S11 not observed`, unless
`--allow-unobserved`). The file is read before anything is sent: a file that is not such
a report is bad input, named.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from contract.errors import InputError

if TYPE_CHECKING:
    from contract.conform.runner import VariantReport


@dataclass(frozen=True)
class Delta:
    """One variant against its baseline: the blocking items, sorted, in three piles."""

    new: list[str]
    fixed: list[str]
    stays: list[str]

    def line(self, paint: Callable[[str, str], str] = lambda text, _: text) -> str:
        """`against the baseline: new S16; fixed S7a; stays S7b, S11` (`paint` colours
        the words new and fixed)."""
        def pile(word: str, items: list[str]) -> str:
            return f"{paint(word, word)} {', '.join(items)}" if items else f"nothing {word}"
        return (f"against the baseline: {pile('new', self.new)}; "
                f"{pile('fixed', self.fixed)}; {pile('stays', self.stays)}")


@dataclass(frozen=True)
class Baseline:
    """The blocking items of each variant of a previous report."""

    path: Path
    blocking: dict[str, frozenset[str]]

    def delta(self, report: VariantReport, allow_unobserved: bool) -> Delta:
        now = blocking(report, allow_unobserved)
        before = self.blocking.get(report.variant, frozenset())
        if allow_unobserved:  # the same gate on both sides
            before = frozenset(item for item in before if not item.endswith(UNOBSERVED))
        return Delta(_sorted(now - before), _sorted(before - now), _sorted(now & before))


UNOBSERVED = " not observed"


def blocking(report: VariantReport, allow_unobserved: bool) -> frozenset[str]:
    """What keeps a variant's gate shut: failed statements, findings, and (unless allowed)
    MUST statements left unobserved."""
    from contract.conform.outcome import cause_of
    from contract.conform.report import findings

    items = {v.id for v in report.failed}
    items |= {finding_key(f.operation, cause_of(o))
              for f, o in zip(report.findings, findings(report), strict=True)}
    if not allow_unobserved:
        items |= {v.id + UNOBSERVED for v in report.unobserved}
    return frozenset(items)


def finding_key(operation: str, cause: str) -> str:
    """A finding as a baseline names it: its operation and its cause (the check or
    schemathesis' code, the message without what varies, the answer's status and shape)."""
    return f"finding: {operation}: {cause}"


def load(path: Path) -> Baseline:
    """The baseline in `path`, a `conform --json` report; InputError naming the file and
    what is wrong with it otherwise."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"--baseline {path}: cannot be read ({error})") from None
    except json.JSONDecodeError as error:
        raise InputError(f"--baseline {path}: not JSON (line {error.lineno}, column "
                         f"{error.colno}: {error.msg})") from None
    variants = data.get("variants") if isinstance(data, dict) else None
    if not isinstance(variants, list) or not all(_is_variant(v) for v in variants):
        raise InputError(f"--baseline {path}: not a `conform --json` report (it needs "
                         "\"variants\", each with \"variant\" and \"statements\")")
    return Baseline(path, {v["variant"]: _blocking(v) for v in variants})


def _is_variant(value: Any) -> bool:
    return isinstance(value, dict) and isinstance(value.get("variant"), str) and \
        isinstance(value.get("statements"), list) and all(
            isinstance(s, dict) and isinstance(s.get("id"), str) for s in value["statements"])


def _blocking(variant: dict[str, Any]) -> frozenset[str]:
    """A reported variant's blocking items, as `blocking` names them."""
    items = {s["id"] for s in variant["statements"] if s.get("status") == "fail"}
    items |= {finding_key(str(f.get("operation", "")), str(f.get("cause", "")))
              for f in variant.get("findings", []) if isinstance(f, dict)}
    items |= {f"{sid}{UNOBSERVED}" for sid in variant.get("unobserved", [])
              if isinstance(sid, str)}
    return frozenset(items)


def _sorted(items: frozenset[str]) -> list[str]:
    """Statements in their order (S2 before S10), then findings."""
    from contract.spec.statements import order

    def key(item: str) -> tuple[bool, tuple[int, str], str]:
        finding = item.startswith("finding")
        return finding, (0, "") if finding else order(item.split()[0]), item
    return sorted(items, key=key)
