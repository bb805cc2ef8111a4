"""One contract, read once: change a fact in the spec and every stage follows it.

A 2016-08 spec is derived with other numbers than the docs' (5 purges a minute instead of
20, a 4 KB body limit instead of 8 KB, pages of at most 5 services instead of 20), another
name for the purge operation and purges that take wildcards. The mock and the client
generated from it, and the conformance checks reading it, all act on the new facts; nothing
of the old ones is left in any stage (the mock binds its purge to the operation the spec
gives purge semantics, and reads the purge rules from them).
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from contract.codegen.client import distribution_name, package_name, render_client
from contract.codegen.server import render_server
from contract.conform.checks import CHECKS
from contract.conform.judges import Expect
from contract.conform.outcome import Status
from contract.conform.probes import Context
from contract.conform.target import SERVICE_BODY, Target
from contract.mock.settings import MockSettings
from contract.model import read_contract
from contract.spec.derive import Inputs, render_variant
from contract.spec.variants import (
    COMMON_OVERLAY,
    VARIANTS,
    load_contract,
    load_document,
    notes_path,
)
from tests.mockapi import service_body
from tests.servers import run_upstream

VARIANT = VARIANTS["2016-08"]
PURGE = "purgeAssets"  # the changed spec's name of the purge operation
SCALE = 0.01  # the mock's durations (a deploy, the rate limit's minute), and the checks' waits


def _replace_once(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


@pytest.fixture(scope="module")
def changed(tmp_path_factory: pytest.TempPathFactory, shared_reference: Path) -> Path:
    """The derived spec of 2016-08 with the docs' numbers (and one default) changed in its
    overlays."""
    folder = tmp_path_factory.mktemp("changed")
    common = _replace_once(COMMON_OVERLAY.read_text(encoding="utf-8"),
                           "max-body-bytes: 8192", "max-body-bytes: 4096")
    common = _replace_once(common, "      minimum: 1\n      maximum: 20\n",
                           "      minimum: 1\n      maximum: 5\n")
    common = _replace_once(common, "default: {enabled: false}", "default: {enabled: true}")
    own = _replace_once(VARIANT.overlay_path.read_text(encoding="utf-8"),
                        "requests: 20", "requests: 5")
    own = _replace_once(own, "          wildcards: false\n", "          wildcards: true\n")
    own += ("  - target: $.paths['/v1.0/{project_id}/services/{service_id}/assets'].delete\n"
            "    update:\n      operationId: purgeAssets\n")
    (folder / "common.overlay.yaml").write_text(common, encoding="utf-8")
    (folder / VARIANT.overlay).write_text(own, encoding="utf-8")
    inputs = Inputs(VARIANT, VARIANT.wadl_path,
                    (folder / "common.overlay.yaml", folder / VARIANT.overlay), notes_path())
    spec = folder / VARIANT.spec_name
    spec.write_text(render_variant(inputs)[VARIANT.spec_name], encoding="utf-8")
    return spec


@pytest.fixture(scope="module")
def document(changed: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(changed.read_text(encoding="utf-8"))
    return loaded


@pytest.fixture(scope="module")
def mock_url(changed: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The stub server generated from the changed spec, serving on loopback."""
    folder = tmp_path_factory.mktemp("server")
    for name, text in render_server(changed).items():
        path = folder / name.replace("cdn_2016_08", "changed_cdn_2016_08")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    sys.path.insert(0, str(folder))
    try:
        module = importlib.import_module("changed_cdn_2016_08")
    finally:
        sys.path.remove(str(folder))
    with run_upstream(module.create_app(MockSettings(time_scale=SCALE))) as port:
        yield f"http://127.0.0.1:{port}"


def test_the_model_reads_the_changed_numbers(document):
    contract = read_contract(document)
    assert contract.rate_limits[PURGE].requests == 5
    assert contract.purge.operation == PURGE and contract.purge.purge.wildcards
    assert contract.limits.max_body_bytes == 4096
    assert contract.page_size == 5
    canonical = load_contract("2016-08")
    assert (canonical.rate_limits["deleteCachedAsset"].requests,
            canonical.limits.max_body_bytes, canonical.page_size) == (20, 8192, 20)


def test_the_generated_mock_follows_the_spec(mock_url):
    api = httpx.Client(base_url=mock_url + "/v1.0/p1", headers={"X-Auth-Token": "t"})
    created = api.post("/services", json=service_body())
    service = created.headers["Location"].rsplit("/", 1)[-1]
    statuses = [api.delete(f"/services/{service}/assets", params={"url": f"/{n}/*.png"})
                .status_code for n in range(6)]
    assert statuses == [202] * 5 + [429]  # purges with wildcards, under the renamed limit
    padding = json.dumps({**SERVICE_BODY, "name": ""}).encode()
    over = {**SERVICE_BODY, "name": "x" * (4097 - len(padding))}
    too_big = api.post("/services", content=json.dumps(over).encode(),
                       headers={"Content-Type": "application/json"})
    assert too_big.status_code == 413 and "4096 bytes" in too_big.text
    assert api.get("/services", params={"limit": 6}).status_code == 400
    for n in range(6):
        api.post("/services", json={**service_body(), "name": f"service-{n}"})
    page = api.get("/services").json()
    assert len(page["services"]) == 5  # no `limit`: a page as large as the spec allows
    quiet = {key: value for key, value in service_body().items() if key != "log_delivery"}
    location = api.post("/services", json=quiet).headers["Location"]
    stored = api.get(f"/services/{location.rsplit('/', 1)[-1]}").json()
    assert stored["log_delivery"] == {"enabled": True}  # S38's default, as the spec states it
    assert stored["origins"][0]["port"] == 80  # and the WADL's


def _outcomes(mock_url: str, document: dict[str, Any], contract_of: dict[str, Any]
              ) -> dict[str, set[Status]]:
    contract, statements = read_contract(contract_of), {"S11", "S19", "S24"}
    ctx = Context(Target(mock_url, time_scale=SCALE), contract, document, statements,
                  rate_limit_check=True)
    found: dict[str, set[Status]] = {}
    for check in CHECKS:
        if check.name in ("rate_limit", "request_limits"):
            for outcome in check.run(ctx, Expect(contract, frozenset(statements))):
                found.setdefault(outcome.statement, set()).add(outcome.status)
    return found


def test_the_conformance_checks_follow_the_spec(mock_url, document):
    assert _outcomes(mock_url, document, document) == {
        "S11": {Status.PASS}, "S19": {Status.PASS}, "S24": {Status.PASS}}
    # Held to the docs' numbers, the same mock fails S11 (it refuses the 6th purge, not the
    # 21st): the checks take the rate from the contract they are given, not from their code.
    docs = _outcomes(mock_url, document, load_document("2016-08"))
    assert docs["S11"] == {Status.FAIL}


def test_the_generated_client_follows_the_spec(changed, tmp_path):
    for name, text in render_client(changed).items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    root = tmp_path / distribution_name("2016-08")
    script = (f"import {package_name('2016-08')} as cdn\n"
              "client = cdn.Client(token='t', project_id='p', base_url='http://127.0.0.1:9')\n"
              "try:\n    client.get_all_services(limit=6)\n"
              "except cdn.InvalidRequestError as error:\n    print(error)\n")
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         cwd=root, timeout=60)
    assert run.returncode == 0, run.stderr
    assert "6 is greater than the maximum of 5" in run.stdout
