"""What a handler works with: the request, its checked parameters, and the mock's state."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from contract.checks.defaults import Defaults
from contract.checks.messages import Incoming
from contract.checks.params import Parsed, Problem
from contract.checks.routing import Operation
from contract.mock.behaviours import Behaviours, CalendarMinute
from contract.mock.coverage import Coverage
from contract.mock.journal import Journal
from contract.mock.settings import MockSettings
from contract.mock.state import sample
from contract.mock.state.store import Admitter, Store, open_store
from contract.mock.touched import StatementIndex
from contract.model import Contract


@dataclass(frozen=True)
class ContractFacts:
    """What the generated code knows from the spec of its variant, beyond the route table:
    the contract's typed facts (limits, rates, durations, defaults), the examples the
    documented responses show, each JSON body's own check (a patched service is checked
    with its create body's) and the defaults of its members (contract.checks.defaults)."""

    contract: Contract
    # examples[operationId][status][name] = value
    examples: dict[str, dict[int, dict[str, Any]]] = field(default_factory=dict)
    body_checks: dict[str, Callable[[Any, list[Problem]], None]] = field(default_factory=dict)
    body_defaults: dict[str, Defaults] = field(default_factory=dict)


class EdgeView(Protocol):
    """What the API's asset reports ask of the CDN edge, when one runs (`mock.edge`)."""

    def asset(self, service_id: str, url: str, now: float) -> dict[str, Any]:
        """The edge's copy of one asset: whether it is cached, its state, age and hits."""

    def analytics(self, service_id: str) -> dict[str, int]:
        """What the edge served for the service, counted by cache state."""

    def reset(self) -> None:
        """Forget every cached object and count."""


class Runtime:
    """State shared by every request of one mock process."""

    def __init__(self, facts: ContractFacts, settings: MockSettings,
                 clock: Callable[[], float] = time.time):
        self.facts = facts
        self.settings = settings
        self.clock = clock
        self.store: Store = open_store(settings.db, settings.job_retention, settings.max_jobs)
        self.edge_url: str | None = None  # where the CDN edge listens, once it does
        self.edge: EdgeView | None = None  # its state, for getCachedAsset and analytics
        self.service_operation = ""  # whose body is a whole service (set by the app's handlers)
        self.limiters: dict[str, Admitter] = {
            op: self.store.limiter(op, limit, settings.time_scale)
            for op, limit in facts.contract.rate_limits.items()} if settings.rate_limit else {}
        self.behaviours = Behaviours(settings.behave, settings.seed, bool(self.limiters),
                                     settings.quiet)
        self.journal = Journal(settings.journal) if settings.journal else None
        self.coverage = Coverage()
        self.operations: list[Operation] = []  # the route table's (set by the app)
        self._statements: StatementIndex | None = None
        if "calendar-minute" in self.behaviours.process:
            self.limiters = {op: CalendarMinute(limiter.limit, settings.time_scale)
                             for op, limiter in self.limiters.items()}
        self._seed()

    @property
    def statements(self) -> StatementIndex:
        """The spec's statements per operation, read on first use (a journal listing or a
        coverage report), never on the request path."""
        if self._statements is None:
            from contract.spec.variants import load_document

            contract = self.facts.contract
            self._statements = StatementIndex(load_document(contract.variant), contract)
        return self._statements

    def coverage_report(self) -> dict[str, Any]:
        return self.coverage.report(self.facts.contract.variant, self.operations,
                                    self.statements)

    def seconds(self, documented: float) -> float:
        return documented * self.settings.time_scale

    def reset(self) -> None:
        """Everything the API and the edge hold (with a shared store: of every replica), the
        docs' sample service held again."""
        self.store.reset()
        self.behaviours.reset()
        for limiter in self.limiters.values():
            if isinstance(limiter, CalendarMinute):
                limiter.reset()
        if self.edge is not None:
            self.edge.reset()
        self._seed()

    def _seed(self) -> None:
        """A fresh (or reset) mock holds the docs' sample service, unless told not to."""
        if self.settings.sample:
            sample.seed(self.store, self.clock())


@dataclass(slots=True)
class Call:
    """One accepted request on its way through a handler."""

    request: Incoming
    params: Parsed
    project_id: str
    runtime: Runtime
    behaves: frozenset[str] = frozenset()  # the freedoms this request takes (--behave)

    @property
    def store(self) -> Store:
        return self.runtime.store

    def url(self, path: str) -> str:
        return self.request.base_url + path
