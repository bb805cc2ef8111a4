"""Validations per second of the library as it is (openapi-core underneath).

The baseline a later speed-up (e.g. the generated validators of the stub server) must beat.
Runs the purge request and the create-service request side by side, in one process, for
each variant, and prints figures; nothing here asserts a target.

    .venv/bin/python benchmarks/validation_throughput.py [--seconds 2]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable

from contract.validation import HttpRequest, HttpResponse, validator_for
from contract.variants import VARIANTS

SERVICE = "96737ae3-cfc1-4c72-be88-5d0e7cc9a3f0"
TOKEN = (("X-Auth-Token", "0f6e9f63600142f0a970911583522217"),)
PURGE = HttpRequest("DELETE", f"/v1.0/110011/services/{SERVICE}/assets?url=/images/logo.png",
                    TOKEN)
PURGE_RESPONSE = HttpResponse(202, (("Location", f"https://h/v1.0/services/{SERVICE}"),))
CREATE = HttpRequest("POST", "/v1.0/110011/services",
                     (*TOKEN, ("Content-Type", "application/json")), json.dumps({
                         "name": "mywebsite.com",
                         "domains": [{"domain": "www.mywebsite.com"},
                                     {"domain": "blog.mywebsite.com"}],
                         "origins": [{"origin": "mywebsite.com", "port": 80, "ssl": False,
                                      "rules": [{"name": "all", "request_url": "/*"}]}],
                         "caching": [{"name": "default", "ttl": 3600}],
                         "restrictions": [{"name": "website only", "rules": [
                             {"name": "mywebsite.com", "referrer": "www.mywebsite.com"}]}],
                         "log_delivery": {"enabled": True},
                         "flavor_id": "cdn"}).encode())


def rate(work: Callable[[], object], seconds: float) -> tuple[float, float]:
    """Calls per second over `seconds`, measured in 5 rounds after a warm-up: (median,
    spread)."""
    warm = time.perf_counter() + 0.2
    while time.perf_counter() < warm:
        work()
    rounds = []
    for _ in range(5):
        count, start = 0, time.perf_counter()
        deadline = start + seconds / 5
        while time.perf_counter() < deadline:
            work()
            count += 1
        rounds.append(count / (time.perf_counter() - start))
    return statistics.median(rounds), max(rounds) - min(rounds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="time per measurement")
    args = parser.parse_args()
    print(f"{'variant':<8} {'case':<34} {'per second':>12} {'spread':>10} {'us/call':>9}")
    for variant in VARIANTS:
        validator = validator_for(variant)
        cases = {
            "purge request": lambda v=validator: v.validate_request(PURGE),
            "purge request + 202 response": lambda v=validator: (
                v.validate_request(PURGE), v.validate_response(PURGE, PURGE_RESPONSE)),
            "create-service request": lambda v=validator: v.validate_request(CREATE),
        }
        for name, work in cases.items():
            assert not [*getattr(work(), "violations", [])], f"{name} should be valid"
            median, spread = rate(work, args.seconds)
            print(f"{variant:<8} {name:<34} {median:>12,.0f} {spread:>10,.0f} "
                  f"{1e6 / median:>9.0f}")


if __name__ == "__main__":
    main()
