"""How a user configured the mock (the `cdn-contract mock` options)."""

from __future__ import annotations

from dataclasses import dataclass, field

from contract.http.serving import ServerLimits


@dataclass(frozen=True)
class MockSettings:
    db: str = ":memory:"
    tokens: frozenset[str] | None = None  # None: any non-empty X-Auth-Token is accepted
    # a token given as TOKEN=PROJECT is valid for that project only (and not for /__mock__)
    token_projects: dict[str, str] = field(default_factory=dict)
    time_scale: float = 1.0  # multiplies every documented duration (jobs, deploys, rate window)
    # How long a created or updated service takes to deploy: the docs give no figure, so it
    # is the mock's own behaviour, not a contract fact.
    deploy_seconds: float = 30.0
    job_retention: float = 3600.0  # seconds a finished purge job stays listed
    max_jobs: int = 100_000  # jobs kept at most; the oldest finished go first
    rate_limit: bool = True
    latency_ms: int = 0
    error_rate: float = 0.0  # share of API requests answered 503, for resilience tests
    # --faults: each fault's share of API requests (mock.faults: reset, truncate, ...)
    faults: dict[str, float] = field(default_factory=dict)
    seed: int | None = None  # makes --error-rate, --faults and --behave random reproducible
    journal: int = 5000  # API requests the journal keeps (0: none), the oldest dropped
    cors: bool = False
    quiet: bool = False
    limits: ServerLimits = field(default_factory=ServerLimits)  # slow, idle, too many clients
    edge_port: int | None = None  # where the CDN edge listens (None: no edge; 0: any port)
    # the documented origin port → the local port the edge connects to instead (80 → 18080):
    # the docs allow origins on 80 and 443 only, and the contract stays that strict
    origin_ports: dict[int, int] = field(default_factory=dict)
    # the edge cache's bound, least recently used evicted first: with 256 MiB, a client asking
    # for 60 KB paths took the process to 356 MB, over the 300 MB a hostile peer may cost
    edge_cache_bytes: int = 128 * 1024 * 1024
    # --behave: the documented freedoms the mock takes (mock.behaviours), or ("random",)
    behave: tuple[str, ...] = ()
    sample: bool = False  # hold the docs' sample service (state.sample; the CLI's default)
