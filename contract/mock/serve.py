"""Loading the generated server of a variant and running it on the mock's own HTTP server."""

from __future__ import annotations

from collections.abc import Callable

from contract.mock.app import MockApp
from contract.mock.settings import MockSettings
from contract.spec.variants import generated_server


def create_app(variant: str, settings: MockSettings) -> MockApp:
    app: MockApp = generated_server(variant).create_app(settings)
    return app


def serve(app: MockApp, host: str, port: int,
          started: Callable[[str, str | None], None] = lambda url, edge: None) -> None:
    from contract.mock import transport

    transport.serve(app, host, port, started)
