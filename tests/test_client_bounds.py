"""The generated client against servers that misbehave (tests/hostile_peer.py, raw sockets
on loopback): a deadline for each whole request, a cap on bodies and pages, the token never sent
to another host, and retries only where repeating the request is safe (issues 45 rows 6 and
17, 47's faults: reset, truncate, slow body, stall, 503)."""

from __future__ import annotations

import asyncio
import gzip
import itertools
import json
import logging
import time
from collections.abc import Callable
from types import ModuleType
from typing import Any

import httpx
import pytest

from tests.hostile_peer import Exchange, hostile_peer, other_host
from tests.test_client import PROJECT, client_module

SERVICE = "96737ae3-cfc1-4c72-be88-5d0e7cc9a3f0"
DEADLINE = 1.5  # the client's timeout in these tests: each drip below is well within it


@pytest.fixture(scope="module")
def cdn() -> ModuleType:
    return client_module("2016-08")


def summary(service_id: str) -> dict[str, Any]:
    return {"id": service_id, "name": "site.com", "domains": [], "origins": [],
            "flavor_id": "cdn", "status": "deployed", "links": []}


def call(cdn: ModuleType, url: str, operation: Callable[[Any], Any], *, is_async: bool = False,
         **options: Any) -> Any:
    """`operation(client)` with the sync or the async client, whose result it returns."""
    options = {"token": "secret", "project_id": PROJECT, "timeout": DEADLINE, **options}
    if not is_async:
        with cdn.Client(url, **options) as client:
            return operation(client)

    async def run() -> Any:
        async with cdn.AsyncClient(url, **options) as client:
            return await operation(client)
    return asyncio.run(run())


def dripped_head(exchange: Exchange) -> None:
    exchange.drip(b"HTTP/1.1 204 No Content\r\nX-Padding: " + b"x" * 100 + b"\r\n\r\n", 0.3)


def dripped_body(exchange: Exchange) -> None:
    exchange.send(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 1000\r\n\r\n")
    exchange.drip(b" " * 1000, 0.3)


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("script", [dripped_head, dripped_body], ids=["head", "body"])
def test_a_byte_now_and_then_does_not_hold_a_request_past_its_deadline(cdn, script, is_async):
    """Issue 45 row 6: each byte comes well within the read timeout, so only a deadline on
    the whole exchange ends it (before: 30 s for the head, 300 s for the body)."""
    with hostile_peer(script) as peer:
        started = time.monotonic()
        with pytest.raises(cdn.RequestTimeoutError, match="deadline"):
            call(cdn, peer.url, lambda client: client.get_ping(), is_async=is_async)
        took = time.monotonic() - started
    assert DEADLINE - 0.1 < took < DEADLINE + 3, took  # before: 30 s and more
    assert len(peer.seen) == 1  # a passed deadline is not retried


def test_with_the_callers_http_client_the_deadline_is_checked_between_chunks(cdn):
    """An `http_client` of the caller's has its own sockets: the deadline still ends a
    dripped body (between two chunks), as a typed error."""
    with hostile_peer(dripped_body) as peer, httpx.Client(base_url=peer.url, timeout=5) as http:
        started = time.monotonic()
        with pytest.raises(cdn.RequestTimeoutError, match="deadline"):
            call(cdn, peer.url, lambda client: client.get_ping(), http_client=http)
        assert time.monotonic() - started < DEADLINE + 3


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_a_body_over_max_body_is_refused_decoded_size_too(cdn, is_async):
    bomb = gzip.compress(b"0" * 2_000_000)  # 2 MB of zeros in ~2 kB

    def script(exchange: Exchange) -> None:
        if exchange.number == 0:  # no Content-Length: read until the cap
            exchange.send(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                          b"Connection: close\r\n\r\n" + b" " * 300_000)
        elif exchange.number == 1:
            exchange.answer(200, bomb, {"Content-Encoding": "gzip"})
        else:  # says so before the body
            exchange.answer(200, b"[" + b"0," * 200_000 + b"0]")

    with hostile_peer(script) as peer:
        for seen in (r"\d{6} seen", "2000000 seen", "400003 seen"):  # as far as read
            with pytest.raises(cdn.ResponseTooLargeError, match=f"over 100000 bytes \\({seen}"):
                call(cdn, peer.url, lambda client: client.get_flavors(), is_async=is_async,
                     max_body=100_000)
    assert len(bomb) < 100_000 and len(peer.seen) == 3


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_a_body_that_does_not_decode_is_an_unexpected_response(cdn, is_async):
    """Before, httpx's DecodingError came out: no CdnError for the caller to catch."""
    with hostile_peer(lambda exchange: exchange.answer(200, b"not gzip at all",
                                                       {"Content-Encoding": "gzip"})) as peer, \
            pytest.raises(cdn.UnexpectedResponseError, match="Content-Encoding 'gzip'"):
        call(cdn, peer.url, lambda client: client.get_flavors(), is_async=is_async)


def test_json_nested_too_deep_is_an_unexpected_response_or_an_error_without_body(cdn):
    """100,000 nested arrays (200 kB, under any size cap): a RecursionError came out."""
    deep = b"[" * 100_000 + b"]" * 100_000

    def script(exchange: Exchange) -> None:
        exchange.answer(200 if exchange.target.endswith("/flavors") else 404, deep)

    with hostile_peer(script) as peer:
        with pytest.raises(cdn.UnexpectedResponseError, match="nested too deep"):
            call(cdn, peer.url, lambda client: client.get_flavors())
        with pytest.raises(cdn.NotFoundError) as missing:
            call(cdn, peer.url, lambda client: client.get_service(SERVICE))
    assert missing.value.body is None and missing.value.messages == []


def test_a_url_no_retry_can_mend_fails_at_once(cdn, caplog):
    """A refused connection on a read is retried; a scheme httpx cannot speak is not."""
    caplog.set_level(logging.WARNING, logger="cdn_client")
    with pytest.raises(cdn.TransportError, match="UnsupportedProtocol"):
        call(cdn, "ftp://127.0.0.1:21", lambda client: client.get_ping())
    assert not caplog.records  # each retry is logged (a bound on the time failed under load)


def test_an_endless_body_stops_at_the_default_cap(cdn):
    def script(exchange: Exchange) -> None:
        exchange.send(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                      b"Transfer-Encoding: chunked\r\n\r\n")
        chunk = b"%x\r\n%s\r\n" % (65536, b" " * 65536)
        while not exchange.stop.is_set():
            exchange.send(chunk)

    with hostile_peer(script) as peer, pytest.raises(cdn.ResponseTooLargeError,
                                                     match="over 16777216 bytes"):
        call(cdn, peer.url, lambda client: client.get_flavors(), timeout=30)


def endless_listing(exchange: Exchange) -> None:
    """Every page names a next page, with one new service on each."""
    service = f"00000000-0000-4000-8000-{exchange.number:012d}"
    page = {"services": [summary(service)],
            "links": [{"rel": "next", "href": f"/v1.0/{PROJECT}/services?marker={service}"}]}
    exchange.answer(200, json.dumps(page).encode())


def same_page(exchange: Exchange) -> None:
    """After the first page, the page after the marker is that page again."""
    page = {"services": [summary(SERVICE)], "links": [{"rel": "next", "href": "/x"}]}
    exchange.answer(200, json.dumps(page).encode())


@pytest.mark.parametrize(("script", "pages", "message"), [
    (endless_listing, 5, "more than 5 pages"), (same_page, 2, "is that page again")])
def test_a_listing_without_end_stops_with_a_paging_error(cdn, script, pages, message):
    """Issue 45 row 17: before, `iter_services` followed an endless `next` for ever."""
    with hostile_peer(script) as peer:
        with pytest.raises(cdn.PagingError, match=message):
            call(cdn, peer.url, lambda client: list(itertools.islice(
                client.iter_services(), 50)), max_pages=5)
        assert len(peer.seen) == pages


def test_the_token_goes_to_no_other_host(cdn):
    """A `next` link naming another host and redirects (even with an `http_client` that
    follows them) reach the other host with nothing: the next page is asked of base_url by
    its marker, a 3xx is the answer."""
    def script(exchange: Exchange) -> None:
        if exchange.target.endswith("/ping"):
            exchange.answer(307, headers={"Location": f"{other.url}/v1.0/ping"})
            return
        first = "marker" not in exchange.target
        page = {"services": [summary(SERVICE if first else "00000000-0000-4000-8000-1")],
                "links": [{"rel": "next", "href": f"{other.url}/v1.0/services?marker="
                           f"{SERVICE}"}] if first else []}
        exchange.answer(200, json.dumps(page).encode())

    with other_host() as other, hostile_peer(script) as peer:
        assert len(call(cdn, peer.url, lambda client: list(client.iter_services()))) == 2
        following = httpx.Client(base_url=peer.url, follow_redirects=True)
        with pytest.raises(cdn.UnexpectedStatusError, match="307"):
            call(cdn, peer.url, lambda client: client.get_ping(), http_client=following)
        following.close()
    assert [e.target for e in peer.seen] == [
        f"/v1.0/{PROJECT}/services", f"/v1.0/{PROJECT}/services?marker={SERVICE}",
        f"/v1.0/{PROJECT}/ping"]
    assert all(e.header("X-Auth-Token") == "secret" for e in peer.seen)
    assert other.seen == []


# What each fault does: the server's first answer (then a 204 / 202 that works).
def reset(exchange: Exchange) -> None:
    exchange.reset()


def truncate(exchange: Exchange) -> None:
    exchange.send(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + b" " * 10)


def unavailable(exchange: Exchange) -> None:
    exchange.answer(503, b'{"message": {"errors": [{"message": "busy"}]}}',
                    {"Retry-After": "0"})


def slow_body(exchange: Exchange) -> None:
    exchange.send(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")
    exchange.drip(b" " * 100, 0.3)


def stall(exchange: Exchange) -> None:
    exchange.stall()


FAULTS = {"reset": reset, "truncate": truncate, "503": unavailable, "slow-body": slow_body,
          "stall": stall}
# On a read (GET ping): what is lost is asked again; a passed deadline is the caller's.
ON_A_READ = {"reset": None, "truncate": None, "503": None,
             "slow-body": "RequestTimeoutError", "stall": "RequestTimeoutError"}
# On a purge (DELETE) or a create (POST), which may have been carried out: never repeated.
ON_A_WRITE = {"reset": "TransportError", "truncate": "TransportError",
              "503": "ServiceUnavailableError", "slow-body": "RequestTimeoutError",
              "stall": "RequestTimeoutError"}


def faulty_once(fault: Callable[[Exchange], None]) -> Callable[[Exchange], None]:
    def script(exchange: Exchange) -> None:
        if exchange.number == 0:
            fault(exchange)
        elif exchange.method == "POST":
            exchange.answer(202, headers={
                "Location": f"/v1.0/{PROJECT}/services/{SERVICE}"})
        else:
            exchange.answer(204 if exchange.method == "GET" else 202,
                            headers={"Location": "/x"})
    return script


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("fault", list(FAULTS))
def test_faults_are_retried_only_where_repeating_is_safe(cdn, fault, is_async, caplog):
    """Issue 47: a read is asked again after a reset, a body cut short or a 503; a purge and
    a create are not (the server may have carried them out), nor anything after its
    deadline passed."""
    caplog.set_level(logging.WARNING, logger="cdn_client")
    calls = {"GET": lambda client: client.get_ping(),
             "DELETE": lambda client: client.delete_cached_asset(SERVICE, url="/a.css"),
             "POST": lambda client: client.create_service(new_service(cdn))}
    for method, operation in calls.items():
        expected = ON_A_READ[fault] if method == "GET" else ON_A_WRITE[fault]
        caplog.clear()
        with hostile_peer(faulty_once(FAULTS[fault])) as peer:
            if expected is None:
                call(cdn, peer.url, operation, is_async=is_async)
            else:
                with pytest.raises(getattr(cdn, expected)):
                    call(cdn, peer.url, operation, is_async=is_async)
        assert [e.method for e in peer.seen] == [method] * (2 if expected is None else 1)
        retried = [r.getMessage() for r in caplog.records if r.name == "cdn_client"]
        assert len(retried) == (expected is None), (method, retried)


def new_service(cdn: ModuleType) -> Any:
    return cdn.NewService(name="site.com", domains=[cdn.NewDomain(domain="www.site.com")],
                          origins=[cdn.NewOrigin(origin="origin.site.com")],
                          log_delivery=cdn.NewLogDelivery(enabled=False), flavor_id="cdn")
