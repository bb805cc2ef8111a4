"""What a check finds, and the verdict per statement."""

from __future__ import annotations

import enum
import shlex
from dataclasses import dataclass, field

import httpx


class Status(enum.StrEnum):
    PASS = "pass"
    FAIL = "fail"
    WARNING = "warning"  # an INTERPRETATION row not met, or a SHOULD the target may skip
    NOT_OBSERVABLE = "not observable"


# The statement of an outcome about a fact the spec states that no row of CONTRACT-NOTES
# numbers (the WADL's own schemas and statuses): a failed one is reported as a finding.
SPEC = "spec"


@dataclass(frozen=True)
class Outcome:
    """One observation: a statement held or not, with the request that shows it."""

    statement: str
    status: Status
    message: str
    check: str = ""
    curl: str = ""
    # The exchange that shows it (its request is `exchange.request`), quoted by every report,
    # and a short stable key of why (check, what was expected, what came), for grouping.
    exchange: httpx.Response | None = None
    cause: str = ""


@dataclass
class StatementVerdict:
    id: str
    level: str
    text: str
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def status(self) -> Status:
        seen = {o.status for o in self.outcomes}
        for status in (Status.FAIL, Status.WARNING, Status.PASS):
            if status in seen:
                return status
        return Status.NOT_OBSERVABLE

    def counts(self) -> dict[str, int]:
        return {s.value: sum(o.status == s for o in self.outcomes) for s in Status
                if any(o.status == s for o in self.outcomes)}


CURL_BODY = 200  # characters of a request body shown in a curl line


def curl(request: httpx.Request, secrets: dict[str, str]) -> str:
    """A curl command that sends the same request again (with its Host when it is not the
    URL's, as the edge checks send). A secret header value is shown as the environment
    variable that holds it; a body longer than CURL_BODY characters is cut, with a note."""
    parts = ["curl", "-i", "-X", request.method]
    quoted: list[str] = []
    for name, value in request.headers.multi_items():
        if name.lower() == "host" and value != request.url.netloc.decode("ascii"):
            parts += ["-H", f"Host: {value}"]
        elif value in secrets:
            quoted.append(f'-H "{name}: {secrets[value]}"')
        elif name.lower() not in ("host", "content-length", "accept-encoding", "connection",
                                "user-agent"):
            parts += ["-H", f"{name}: {value}"]
    note = ""
    if request.content:
        text = request.content.decode("utf-8", "replace")
        if len(text) > CURL_BODY:
            note = f"  # body cut: {len(request.content)} bytes in all"
            text = text[:CURL_BODY] + "…"
        parts += ["--data-binary", text]
    parts.append(str(request.url))
    words = [shlex.quote(part) for part in parts]
    return " ".join(words[:4] + quoted + words[4:]) + note
