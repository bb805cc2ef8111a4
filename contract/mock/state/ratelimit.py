"""A sliding-window rate limit per project, as the contract states it (`x-rate-limit`, S11).

Check and record happen in one synchronous call on the event loop, with no await between
them, so concurrent requests cannot both take the last slot: 64 purges at once in one window
get exactly 20 acceptances.
"""

from __future__ import annotations

import math
from collections import defaultdict, deque

from contract.model import RateLimit

SWEEP_EVERY = 1024  # admissions between two sweeps of the expired windows


class Limiter:
    def __init__(self, limit: RateLimit, time_scale: float = 1.0):
        self.limit = limit
        self.window = limit.period_seconds * time_scale
        self._hits: dict[str, deque[float]] = defaultdict(deque)
        self._admitted = 0

    def admit(self, key: str, now: float) -> float | None:
        """None if the request may go ahead (and it is counted), else the seconds to wait."""
        self._admitted += 1
        if self._admitted % SWEEP_EVERY == 0:
            self._sweep(now)
        hits = self._hits[key]
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        if len(hits) < self.limit.requests:
            hits.append(now)
            return None
        return hits[0] + self.window - now

    def _sweep(self, now: float) -> None:
        """Forget the windows whose every request is older than the window: a key never
        named again would otherwise be kept for the life of the process."""
        for key in [k for k, hits in self._hits.items() if not hits or
                    hits[-1] <= now - self.window]:
            del self._hits[key]

    def reset(self) -> None:
        self._hits.clear()


def retry_after(wait: float) -> str:
    """Whole seconds for `Retry-After` (S24), at least 1 so a client never spins."""
    return str(max(1, math.ceil(wait)))
