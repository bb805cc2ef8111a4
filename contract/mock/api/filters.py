"""`GET /__mock__/requests`'s query: which journal entries to list, and its pages' links.

Each filter is checked whole before any entry is read: a bad value is a 400 naming it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import urlencode

from contract.checks.messages import Incoming
from contract.mock.journal import MAX_PAGE, PAGE, Served

Keep = Callable[[Served], bool]
NAMES = ("operation", "method", "path", "service", "status", "since", "until", "limit",
         "marker", "format")


def parse(request: Incoming) -> tuple[Keep, int, int]:
    """(which entries to keep, the page's size, the last id of the previous page); a
    ValueError's message names the parameter at fault."""
    unknown = sorted({name for name, _ in request.query} - set(NAMES))
    if unknown:
        raise ValueError(f"{', '.join(unknown)}: not a filter of the journal (filters: "
                         f"{', '.join(NAMES)})")
    value = request.query_value
    tests: list[Keep] = []
    if (operation := value("operation")) is not None:
        tests.append(lambda s: s.operation == operation)
    if (method := value("method")) is not None:
        tests.append(lambda s: s.request.method == method.upper())
    if (path := value("path")) is not None:
        tests.append(lambda s: s.request.path.startswith(path))
    if (service := value("service")) is not None:
        tests.append(lambda s: s.match is not None
                     and s.match.path_params.get("service_id") == service)
    if (status := value("status")) is not None:
        tests.append(_status(status))
    tests += _times(value("since"), value("until"))
    limit, marker = value("limit") or str(PAGE), value("marker") or "0"
    if not (limit.isdigit() and 1 <= int(limit) <= MAX_PAGE) or not marker.isdigit():
        raise ValueError(f"limit must be 1 to {MAX_PAGE} and marker an entry's id (got "
                         f"limit={limit!r}, marker={marker!r})")
    return (lambda served: all(test(served) for test in tests)), int(limit), int(marker)


def _status(text: str) -> Keep:
    """`404`, or a class: `4xx`."""
    if len(text) == 3 and text[0] in "12345" and text[1:].lower() == "xx":
        return lambda s: s.status // 100 == int(text[0])
    if text.isdigit() and 100 <= int(text) <= 599:
        return lambda s: s.status == int(text)
    raise ValueError(f"status {text!r} is not a status (404) or a class of them (4xx)")


def _times(since: str | None, until: str | None) -> list[Keep]:
    """Bounds both included, in the milliseconds an entry shows its time in (an entry's
    `time` given back as `until` takes that entry)."""
    tests: list[Keep] = []
    if since is not None:
        start = _moment("since", since)
        tests.append(lambda s: int(s.time * 1000) >= start)
    if until is not None:
        end = _moment("until", until)
        tests.append(lambda s: int(s.time * 1000) <= end)
    return tests


def _moment(name: str, text: str) -> int:
    """ISO 8601 (with a zone; none is UTC) or seconds since the epoch, in milliseconds."""
    try:
        return round(float(text) * 1000)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{name} {text!r} is neither ISO 8601 (2026-01-31T12:00:00Z) nor "
                         "seconds since the epoch") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return round(moment.timestamp() * 1000)


def next_href(request: Incoming, last: int) -> str:
    """The next page's link: the same filters, `marker` the last id of this page."""
    query = [(name, value) for name, value in request.query if name != "marker"]
    return f"{request.base_url}{request.path}?{urlencode([*query, ('marker', str(last))])}"
