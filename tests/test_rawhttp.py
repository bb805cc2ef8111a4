import pytest

from contract.http.raw import RawHttpError, parse_message


def test_request_with_headers_and_body():
    message = parse_message("POST /v1.0/1/services HTTP/1.1\r\nHost: h\r\n"
                            "Content-type: application/json\r\n\r\n{\"a\": 1}\r\n")
    assert (message.kind, message.method, message.target) == ("request", "POST",
                                                              "/v1.0/1/services")
    assert message.header("content-type") == "application/json"
    assert message.body == '{"a": 1}'
    assert message.quirks == []


def test_response_status_and_location():
    message = parse_message("HTTP/1.1 202 Accepted\nLocation: https://h/v1.0/services/x")
    assert (message.kind, message.status, message.reason) == ("response", 202, "Accepted")
    assert message.header("Location") == "https://h/v1.0/services/x"


def test_docs_quirks_are_reported_not_fatal():
    response = parse_message("200 OK\nContent-Type: application/json\n")
    assert response.status == 200
    assert response.quirks == ["status line '200 OK' has no HTTP version"]
    request = parse_message("GET /v1.0/1/services{?marker,limit} HTTP/1.1\nHost: h\n")
    assert any("URI template" in quirk for quirk in request.quirks)


@pytest.mark.parametrize(("text", "line"), [("", 1), ("hello world\n", 1),
                                            ("GET / HTTP/1.1\nno colon here\n", 2)])
def test_not_http_is_an_error_with_a_line(text, line):
    with pytest.raises(RawHttpError) as caught:
        parse_message(text)
    assert caught.value.line == line
