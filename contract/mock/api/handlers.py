"""Which behaviour serves which operation of the route table.

The API's operations are registered by operationId, the one place the mock names them; the
purge is bound to whichever operation the spec gives purge semantics (`x-purge-semantics`,
read by the model), so `assets` names no operation and follows a spec that renames it.
"""

from __future__ import annotations

from collections.abc import Callable

from contract.checks.messages import Outgoing
from contract.errors import InputError
from contract.mock.api import assets, catalog, certificates, services
from contract.mock.runtime import Call
from contract.model import Contract

Handler = Callable[[Call], Outgoing]

BY_OPERATION: dict[str, Handler] = {
    "getHomeDocument": catalog.home,
    "getPing": catalog.ping,
    "getAllServices": services.list_page,
    "createService": services.create,
    "getService": services.get,
    "patchService": services.patch,
    "deleteService": services.delete,
    "getCachedAsset": assets.cached,
    "getAssetAnalytics": assets.analytics,
    "getFlavors": catalog.flavors,
    "getFlavorDetails": catalog.flavor,
    "createSSLCertificate": certificates.create,
    "deleteSSLCertificate": certificates.delete,
}


def handlers_for(contract: Contract, operations: list[str]) -> dict[str, Handler]:
    """Each operation's handler; an operation of the route table that none serves stops the
    mock at start-up, naming it (rather than answering 500 to its first request)."""
    found = {**BY_OPERATION, contract.purge.operation: assets.purge}
    missing = [operation for operation in operations if operation not in found]
    if missing:
        raise InputError(f"the mock has no behaviour for {', '.join(missing)} (it serves "
                         f"{', '.join(sorted(found))})")
    return {operation: found[operation] for operation in operations}


def service_operation(handlers: dict[str, Handler]) -> str:
    """The operation whose body is a whole service, the one `services.create` serves: its
    body's check judges a patched service, and its defaults fill in a stored one."""
    return next((operation for operation, handler in handlers.items()
                 if handler is services.create), "")
