"""Readers of recorded traffic: raw HTTP files, curl -v transcripts, HAR 1.2."""

from __future__ import annotations

import base64
import json

import pytest

from contract.errors import InputError
from contract.recorded import exchanges_from_files
from contract.validation import validate_exchange


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_request_response_and_json_body_files_form_one_exchange(tmp_path):
    files = [write(tmp_path, "req-http.txt", "POST /v1.0/1/services HTTP/1.1\nHost: h\n"),
             write(tmp_path, "req.json", '{"name": "abc"}'),
             write(tmp_path, "resp-http.txt", "HTTP/1.1 202 Accepted\nLocation: /x\n"),
             write(tmp_path, "next-http.txt", "GET /v1.0/1/ping HTTP/1.1\n")]
    first, second = exchanges_from_files(files)
    assert first.request.body == b'{"name": "abc"}'
    assert first.response is not None and first.response.status == 202
    assert first.name == "req-http.txt + req.json + resp-http.txt"
    assert second.request.path == "/v1.0/1/ping" and second.response is None


def test_uri_template_quirk_is_read_and_reported(tmp_path):
    path = write(tmp_path, "list-http.txt",
                 "GET /v1.0/1/services{?marker=abc,limit=20} HTTP/1.1\nHost: h\n")
    (exchange,) = exchanges_from_files([path])
    assert exchange.request.url == "/v1.0/1/services?marker=abc&limit=20"
    assert any("read the URI template" in note for note in exchange.notes)


def test_curl_verbose_transcript(tmp_path):
    text = ("* Connected to localhost\n> DELETE /v1.0/1/services/s/assets HTTP/1.1\n"
            "> Host: localhost\n> X-Auth-Token: t\n>\n< HTTP/1.1 202 Accepted\n")
    (exchange,) = exchanges_from_files([write(tmp_path, "curl.txt", text)])
    assert exchange.request.method == "DELETE" and exchange.request.header("x-auth-token") == "t"


def test_curl_transcript_holds_only_the_request_part(tmp_path):
    text = "> GET /v1.0/1/ping HTTP/1.1\n> Host: localhost\n"
    (exchange,) = exchanges_from_files([write(tmp_path, "curl.txt", text)])
    assert exchange.request.path == "/v1.0/1/ping"


def test_har_entries_with_base64_and_aborted_responses(tmp_path):
    har = {"log": {"version": "1.2", "entries": [
        {"request": {"method": "post", "url": "http://h/v1.0/1/services",
                     "headers": [{"name": ":authority", "value": "h"},
                                 {"name": "X-Auth-Token", "value": "t"}],
                     "postData": {"mimeType": "application/json", "text": "{}"}},
         "response": {"status": 400, "statusText": "Bad Request",
                      "headers": [{"name": "Content-Type", "value": "application/json"}],
                      "content": {"text": base64.b64encode(b'{"message": {}}').decode(),
                                  "encoding": "base64"}}},
        {"request": {"method": "GET", "url": "http://h/v1.0/1/ping", "headers": []},
         "response": {"status": 0, "headers": [], "content": {}}}]}}
    path = write(tmp_path, "trace.har", json.dumps(har))
    post, ping = exchanges_from_files([path])
    assert post.request.method == "POST" and post.request.body == b"{}"
    assert post.request.headers == (("X-Auth-Token", "t"),)
    assert post.response is not None and post.response.body == b'{"message": {}}'
    assert ping.response is None and ping.name == "trace.har#1"


@pytest.mark.parametrize(("name", "text", "message"), [
    ("resp-http.txt", "HTTP/1.1 200 OK\n", "a response file must follow its request file"),
    ("bad-http.txt", "GET / HTTP/1.1\nbroken header\n", "malformed header line"),
    ("bad.har", "{not json", "not a HAR file: invalid JSON"),
    ("empty.har", '{"log": {}}', "no log.entries list"),
    ("x.json", "{}", "must follow the request or response file"),
])
def test_bad_recordings_are_input_errors(tmp_path, name, text, message):
    with pytest.raises(InputError) as caught:
        exchanges_from_files([write(tmp_path, name, text)])
    assert message in caught.value.message
    assert caught.value.path == tmp_path / name


METER = ("  % Total    % Received % Xferd  Average Speed   Time    Time     Time  Current\n"
         "                                 Dload  Upload   Total   Spent    Left  Speed\n"
         "\r  0     0    0     0    0     0      0      0 --:--:-- --:--:-- --:--:--     0")


def test_curl_without_s_and_without_stdout_judges_only_what_it_recorded(tmp_path):
    """curl never writes the request body; standard error alone has no response body; the
    progress meter is noise. None of it is a violation; a real violation still is."""
    post = (METER + "*   Trying 127.0.0.1:8080...\r\n"
            "> POST /v1.0/p/services HTTP/1.1\r\n> Host: h\r\n> X-Auth-Token: t\r\n"
            "> Content-Type: application/json\r\n> Content-Length: 168\r\n> \r\n"
            "} [168 bytes data]\n< HTTP/1.1 202 Accepted\r\n"
            "< Location: http://h/v1.0/services/96737ae3-cfc1-4c72-be88-5d0e7cc9a3f0\r\n"
            "< content-length: 0\r\n< \r\n"
            "\r100   168    0     0  100   168      0   107k --:--:-- --:--:-- --:--:--  164k\n"
            "* Connection #0 to host h left intact\n")
    listing = ("> GET /v1.0/p/services HTTP/1.1\r\n> Host: h\r\n> X-Auth-Token: t\r\n> \r\n"
               "< HTTP/1.1 200 OK\r\n< Content-Type: application/json\r\n"
               "< content-length: 611\r\n< \r\n{ [611 bytes data]\n")
    purge_200 = ("> DELETE /v1.0/p/services/96737ae3-cfc1-4c72-be88-5d0e7cc9a3f0/assets?url=/a "
                 "HTTP/1.1\r\n> Host: h\r\n> X-Auth-Token: t\r\n> \r\n< HTTP/1.1 200 OK\r\n"
                 "< content-length: 0\r\n< \r\n")
    verdicts = {}
    for name, text in (("post", post), ("listing", listing), ("purge", purge_200)):
        (exchange,) = exchanges_from_files([write(tmp_path, f"{name}.txt", text)])
        verdicts[name] = (exchange, validate_exchange(exchange, "2016-08"))
    post_exchange, post_verdict = verdicts["post"]
    assert post_exchange.unrecorded == {"request.body"} and post_verdict.valid
    assert any("request body is not recorded" in note and "curl -sv" in note
               for note in post_exchange.notes)
    listing_exchange, listing_verdict = verdicts["listing"]
    assert listing_exchange.unrecorded == {"response.body"} and listing_verdict.valid
    _, purge_verdict = verdicts["purge"]
    assert [v.location for v in purge_verdict.violations] == ["response.status"]


def test_validate_help_says_how_to_record_traffic():
    from tests.test_cli import cli

    text = " ".join(cli("validate", "--help").stdout.split())
    assert "curl -sv URL > file 2>&1" in text and "HAR" in text and "proxy" in text
