"""Readers of recorded traffic: raw HTTP files, curl -v transcripts, HAR 1.2."""

from __future__ import annotations

import base64
import json

import pytest

from contract.errors import InputError
from contract.recorded import exchanges_from_files


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
