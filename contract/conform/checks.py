"""Our checks: one per observable group of statements of CONTRACT-NOTES, each a probe that
sends (`probes`) paired with a judge that decides (`judges`).

Running a check runs its probe, then its judge on the record; when the probe could not look
(it raised `Unobservable`: the target created no service, the rate limit was not asked
for), the check's statements are reported `not observable` with why, never passed. The
error-body judge (S16) runs once at the end of a variant, over every exchange any probe or
the scenario sent. The `edge` checks need the CDN's edge and an origin the suite controls
(`edge_probes`); the others only the API.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

from contract.conform import (
    certificate_judges,
    certificate_probes,
    edge_judges,
    edge_probes,
    judges,
    probes,
)
from contract.conform.gate import Breach
from contract.conform.judges import Expect
from contract.conform.outcome import SPEC, Outcome
from contract.conform.probes import Context, Record, Unobservable


@dataclass(frozen=True)
class Check:
    name: str
    statements: tuple[str, ...]
    probe: Callable[[Context], Record]
    judge: Callable[[Record, Expect], Iterator[Outcome]]
    group: str = "api"  # or "edge": what `--checks` selects

    def run(self, ctx: Context, expect: Expect) -> list[Outcome]:
        if not expect.statements.intersection(self.statements) and SPEC not in self.statements:
            return []  # none of its statements belongs to this variant: nothing to send
        try:
            try:
                record = self.probe(ctx)
            except Breach as breach:  # passed a bound: a finding, and nothing to judge
                raise ctx.breached(breach, self.name) from None
        except Unobservable as failed:  # a step it depends on failed: say which, and show it
            return [failed.outcome(statement, self.name)
                    for statement in self.statements if statement in expect.statements]
        return [replace(found, check=self.name) for found in self.judge(record, expect)]


CHECKS = [
    Check("purge_is_accepted", ("S1", "S2", "S3", "S4", "S9", "S32"), probes.purge_once,
          judges.purge_is_accepted),
    Check("optional_url_and_both_modes", ("S5", "S6", "S14"), probes.both_modes,
          judges.both_modes_accepted),
    Check("default_of_hard", ("S7a", "S7b", "S13"), probes.purge_without_hard,
          judges.default_of_hard),
    Check("project_in_header", ("S8",), probes.project_in_header, judges.project_in_header),
    Check("token_required", ("S10",), probes.tokens, judges.token_required),
    Check("purge_rules", ("S21", "S22", "S23", "S25"), probes.purge_rules,
          judges.purge_rules),
    Check("hard_must_be_boolean", ("S17",), probes.hard_not_boolean,
          judges.hard_must_be_boolean),
    Check("unknown_service_is_404", ("S18",), probes.unknown_services,
          judges.unknown_service_is_404),
    Check("request_limits", ("S19",), probes.over_the_limits, judges.request_limits),
    Check("json_is_served", ("S20",), probes.json_listing, judges.json_is_served),
    Check("rate_limit", ("S11", "S24", "S35", SPEC), probes.purge_burst, judges.rate_limit),
    Check("list_pages", ("S33",), probes.list_pages, judges.list_pages),
    Check("patch_rules", ("S34", SPEC), probes.patch_service, judges.patch_rules),
    Check("hostile_inputs", ("S36",), probes.hostile_inputs, judges.hostile_inputs),
    Check("domain_taken", ("S37",), probes.domain_taken, judges.domain_taken),
    Check("log_delivery_optional", ("S38",), probes.without_log_delivery,
          judges.log_delivery_optional),
    Check("ssl_certificates", ("S41", "S42", "S43", "S44", "S45", "S46"),
          certificate_probes.certificates, certificate_judges.certificates),
    Check("location_readable", ("S40",), probes.location_read_back,
          judges.location_readable),
    Check("responses_hold_members", ("S39",), probes.responses_read,
          judges.responses_hold_members),
    Check("edge_routing", ("S26", "S27", "S30"), edge_probes.routing, edge_judges.routing,
          "edge"),
    Check("edge_caching", ("S28",), edge_probes.caching, edge_judges.caching, "edge"),
    Check("edge_restrictions", ("S29",), edge_probes.restrictions, edge_judges.restrictions,
          "edge"),
    Check("edge_purge", ("S12", "S13"), edge_probes.purge, edge_judges.purge, "edge"),
    Check("edge_invalidation", ("S14",), edge_probes.invalidation, edge_judges.invalidation,
          "edge"),
    Check("edge_revalidation", ("S15",), edge_probes.revalidation, edge_judges.revalidation,
          "edge"),
]
GROUPS = ("api", "edge")
