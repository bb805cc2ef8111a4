"""Loading the generated server of a variant and running it on the mock's own HTTP server."""

from __future__ import annotations

import importlib
import sys
from types import ModuleType

from contract.errors import InputError
from contract.mock.app import MockApp
from contract.mock.settings import MockSettings
from contract.variants import GENERATED_DIR, PROJECT_ROOT, server_package

GENERATED = GENERATED_DIR / "server"


def generated_server(variant: str) -> ModuleType:
    """`generated/server/cdn_<variant>/` as a module (it lives beside the package, not in
    it: it is an output of `cdn-contract generate server`)."""
    package = GENERATED / server_package(variant)
    if not (package / "app.py").is_file():
        raise InputError(f"{package} is missing: run `cdn-contract generate server`")
    if str(PROJECT_ROOT) not in sys.path:
        sys.path.insert(0, str(PROJECT_ROOT))
    return importlib.import_module(f"generated.server.{server_package(variant)}")


def create_app(variant: str, settings: MockSettings) -> MockApp:
    app: MockApp = generated_server(variant).create_app(settings)
    return app


def serve(app: MockApp, host: str, port: int) -> None:
    from contract.mock import transport

    transport.serve(app, host, port)
