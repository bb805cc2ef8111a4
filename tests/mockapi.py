"""A small httpx client for the mock tests: one project per test, services made from the
conformance suite's body, every exchange validated against the variant being served."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from contract.conform.target import SERVICE_BODY
from contract.validation.messages import HttpRequest, HttpResponse
from contract.validation.reference import validator_for


def service_body() -> dict[str, Any]:
    """The conformance suite's body with a domain of its own: a domain belongs to one
    service at a time (S37)."""
    return {**SERVICE_BODY, "domains": [{"domain": f"www.{uuid.uuid4().hex[:12]}.example"}]}


class Api:
    def __init__(self, base_url: str, variant: str, project: str | None = None,
                 token: str = "tok"):
        self.base_url = base_url
        self.variant = variant
        self.project = project or f"p{uuid.uuid4().hex[:10]}"
        self.client = httpx.Client(base_url=base_url, headers={"X-Auth-Token": token},
                                   timeout=10)
        # built now (it takes a while the first time), not between two timed requests
        self.validator = validator_for(variant)

    def request(self, method: str, path: str, *, conforms: bool = True,
                **kwargs: Any) -> httpx.Response:
        """A request to `/v1.0/<project><path>`; unless told otherwise, the response must
        satisfy the contract."""
        url = f"/v1.0/{self.project}{path}" if not path.startswith("/v1.0") else path
        response = self.client.request(method, url, **kwargs)
        if conforms:
            violations = self.validator.validate_response(
                _request(response.request), HttpResponse(
                    response.status_code, tuple(response.headers.multi_items()),
                    response.content))
            assert not violations, (method, url, response.status_code, violations)
        return response

    def create_service(self, **overrides: Any) -> str:
        response = self.request("POST", "/services", json={**service_body(), **overrides})
        assert response.status_code == 202, response.text
        return response.headers["Location"].rsplit("/", 1)[-1]

    def purge(self, service_id: str, conforms: bool = True, **params: str) -> httpx.Response:
        return self.request("DELETE", f"/services/{service_id}/assets", params=params,
                            conforms=conforms)

    def jobs(self, service_id: str) -> list[dict[str, Any]]:
        jobs: list[dict[str, Any]] = self.client.get(
            "/__mock__/jobs", params={"service_id": service_id}).json()["jobs"]
        return jobs

    def errors(self, response: httpx.Response) -> list[str]:
        """The messages of the documented error body (S16), which every error must carry."""
        assert response.headers["content-type"] == "application/json"
        return [error["message"] for error in response.json()["message"]["errors"]]


def _request(request: httpx.Request) -> HttpRequest:
    return HttpRequest(request.method, str(request.url), tuple(request.headers.multi_items()),
                       request.content)
