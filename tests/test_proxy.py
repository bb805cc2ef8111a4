"""The validating proxy end to end: real upstream on loopback, proxy started by the CLI."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.servers import (
    BROKEN_SERVICE,
    LIST_BODY,
    SERVICE,
    Upstream,
    free_port,
    run_cli_server,
    run_upstream,
)

TOKEN = {"X-Auth-Token": "t"}


@pytest.fixture(scope="module")
def upstream():
    app = Upstream()
    with run_upstream(app) as port:
        yield app, port


@pytest.fixture
def proxy(upstream, tmp_path):
    def start(*extra: str):
        log = tmp_path / f"violations-{len(extra)}.jsonl"
        port = free_port()
        args = ["proxy", "--upstream", f"http://127.0.0.1:{upstream[1]}", "--log", str(log),
                *extra]
        return port, log, run_cli_server(*args, port=port)
    return start


def read_log(path):
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_valid_traffic_passes_through_byte_for_byte(proxy):
    port, log, server = proxy()
    with server:
        response = httpx.get(f"http://127.0.0.1:{port}/v1.0/1/services", headers=TOKEN)
        purge = httpx.delete(f"http://127.0.0.1:{port}/v1.0/1/services/{SERVICE}/assets",
                             params={"url": "/a.png"}, headers=TOKEN)
    assert response.status_code == 200 and response.content == LIST_BODY
    assert response.headers["x-upstream"] == "yes"
    assert response.headers["x-contract-violations"] == "0"
    assert purge.status_code == 202
    assert purge.headers["location"] == f"http://upstream/v1.0/services/{SERVICE}"
    assert purge.headers["x-contract-violations"] == "0"
    assert read_log(log) == []


def test_violations_are_logged_and_counted_but_not_altered(proxy):
    port, log, server = proxy("--variant", "2016-08")
    with server:
        response = httpx.delete(f"http://127.0.0.1:{port}/v1.0/1/services/{BROKEN_SERVICE}"
                                "/assets", params={"hard": "maybe"}, headers={"X-Auth-Token": ""})
    assert response.status_code == 200 and response.content == b'{"ok": 1}'
    records = read_log(log)
    assert response.headers["x-contract-violations"] == str(len(records)) == "3"
    by_location = {r["location"]: r for r in records}
    assert set(by_location) == {"request.header.X-Auth-Token", "request.query.hard",
                                "response.status"}
    assert by_location["request.query.hard"]["statements"][:2] == ["S6", "S17"]
    assert by_location["response.status"]["direction"] == "response"
    assert by_location["response.status"]["operation"] == "deleteCachedAsset"


def test_strict_blocks_invalid_requests_and_replaces_invalid_responses(proxy, upstream):
    app, _ = upstream
    port, log, server = proxy("--strict")
    with server:
        before = len(app.seen)
        blocked = httpx.delete(f"http://127.0.0.1:{port}/v1.0/1/services/{SERVICE}/assets",
                               params={"hard": "maybe"}, headers=TOKEN)
        assert len(app.seen) == before  # never forwarded
        replaced = httpx.delete(f"http://127.0.0.1:{port}/v1.0/1/services/{BROKEN_SERVICE}"
                                "/assets", headers=TOKEN)
    assert blocked.status_code == 400
    errors = blocked.json()["message"]["errors"]
    assert errors[0]["location"] == "request.query.hard" and "S17" in errors[0]["statements"]
    assert replaced.status_code == 502
    assert replaced.json()["message"]["errors"][0]["location"] == "response.status"
    assert len(read_log(log)) == 2


def test_upstream_down_gives_502_and_slow_upstream_504(tmp_path):
    dead = free_port()
    port = free_port()
    with run_cli_server("proxy", "--upstream", f"http://127.0.0.1:{dead}", port=port):
        response = httpx.get(f"http://127.0.0.1:{port}/v1.0/1/ping", headers=TOKEN, timeout=10)
    assert response.status_code == 502
    assert "unreachable" in response.json()["message"]["errors"][0]["message"]


def test_slow_upstream_gives_504(proxy):
    port, _, server = proxy("--timeout", "0.3")
    with server:
        response = httpx.get(f"http://127.0.0.1:{port}/v1.0/1/ping", headers=TOKEN, timeout=10)
    assert response.status_code == 504
    assert "did not answer within 0.3 s" in response.json()["message"]["errors"][0]["message"]


def test_bad_upstream_url_is_bad_input():
    from tests.test_cli import cli
    result = cli("proxy", "--upstream", "ftp://x")
    assert result.returncode == 2 and "is not an http:// URL" in result.stderr
