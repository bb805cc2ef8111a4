"""Validations per second of the library (openapi-core underneath), beside the stub
server's generated checks on the same requests.

openapi-core is the baseline the generated validators must beat. Runs the purge request and
the create-service request side by side, in one process, for each variant: through the
library, through the mock's `admit` (routing, token, generated check), and for the purge the
mock's whole pipeline with its storage and commit. Prints figures and speed-ups; nothing
here asserts a target.

    .venv/bin/python benchmarks/validation_throughput.py [--seconds 2]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable

from contract.mock.app import MockApp
from contract.mock.messages import Incoming, parse_query
from contract.mock.serve import create_app
from contract.mock.settings import MockSettings
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


def incoming(request: HttpRequest) -> Incoming:
    """The library's request as the mock reads it off the wire."""
    path, _, query = request.url.partition("?")
    return Incoming(request.method, path, parse_query(query),
                    {name.lower(): value for name, value in request.headers},
                    request.body or b"")


def mock_purge(app: MockApp) -> Callable[[], object]:
    """The whole purge pipeline of the mock, storage and commit included, on a service it
    knows (rate limit off)."""
    created = app.answer(incoming(CREATE))
    app.commit()
    service = dict(created.headers)["Location"].rsplit("/", 1)[-1]
    request = PURGE.url.replace(SERVICE, service)

    def work() -> object:
        response = app.answer(incoming(HttpRequest("DELETE", request, TOKEN)))
        app.commit()
        assert response.status == 202
        return response
    return work


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="time per measurement")
    args = parser.parse_args()
    print(f"{'variant':<8} {'case':<38} {'per second':>12} {'spread':>10} {'us/call':>9}")
    for variant in VARIANTS:
        validator = validator_for(variant)
        app = create_app(variant, MockSettings(rate_limit=False, quiet=True))
        cases = {
            "purge request": lambda v=validator: v.validate_request(PURGE),
            "purge request + 202 response": lambda v=validator: (
                v.validate_request(PURGE), v.validate_response(PURGE, PURGE_RESPONSE)),
            "create-service request": lambda v=validator: v.validate_request(CREATE),
            "mock admit: purge request": lambda a=app: a.admit(incoming(PURGE)),
            "mock admit: create-service request": lambda a=app: a.admit(incoming(CREATE)),
            "mock: whole purge, stored, committed": mock_purge(app),
        }
        rates = {}
        for name, work in cases.items():
            result = work()
            assert not [*getattr(result, "violations", [])], f"{name} should be valid"
            assert getattr(result, "refusal", None) is None, f"{name} should be admitted"
            median, spread = rate(work, args.seconds)
            rates[name] = median
            print(f"{variant:<8} {name:<38} {median:>12,.0f} {spread:>10,.0f} "
                  f"{1e6 / median:>9.1f}")
        for case in ("purge request", "create-service request"):
            print(f"{variant:<8} generated check vs openapi-core, {case}: "
                  f"{rates['mock admit: ' + case] / rates[case]:.0f}x")
        app.close()


if __name__ == "__main__":
    main()
