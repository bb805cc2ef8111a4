"""ASGI plumbing shared by the proxy and the mock, which are plain ASGI apps (no framework
on the hot path), and the error body both answer with (S16)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


def error_document(*messages: str) -> dict[str, Any]:
    """The documented error body: `{"message": {"errors": [{"message": ...}, ...]}}`."""
    return {"message": {"errors": [{"message": message} for message in messages]}}


async def run_lifespan(receive: Receive, send: Send,
                       on_shutdown: Callable[[], Awaitable[None]] | None = None) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            if on_shutdown is not None:
                await on_shutdown()
            await send({"type": "lifespan.shutdown.complete"})
            return


async def read_body(receive: Receive, limit: int | None = None) -> bytes | None:
    """The whole request body, or None as soon as it grows past `limit` bytes."""
    parts: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if limit is not None and size > limit:
            return None
        parts.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(parts)
