"""The stateful scenario: a service's life with purges, as a client would live it."""

from __future__ import annotations

from collections.abc import Iterator

from contract.conform.judges import accepted
from contract.conform.outcome import Outcome, Status
from contract.conform.probes import Context, Unobservable, listed_ids


def lifecycle(ctx: Context) -> Iterator[Outcome]:
    """create → deployed → purge → invalidate a wildcard → delete → (delete_in_progress) →
    gone: 404 to a read and a purge, absent from the list (S2, S14, S18, S34)."""
    name = "scenario: create, deploy, purge, invalidate, delete"

    def step(statement: str, ok: bool, message: str, curl: str) -> Outcome:
        return Outcome(statement, Status.PASS if ok else Status.FAIL, message, name, curl)

    try:
        project, service = ctx.service()
    except Unobservable as failed:
        for statement in ("S2", "S34"):
            yield failed.outcome(statement, name)
        return
    purged = ctx.purge(project, service, url="/index.html", hard="true")
    yield step("S2", purged.status == 202, f"purge of a deployed service: {purged.status}",
               purged.curl)
    if "S14" in ctx.statements:
        invalidated = ctx.purge(project, service, url="/images/*", hard="false")
        yield step("S14", accepted(invalidated), f"wildcard invalidation: "
                   f"{invalidated.status}", invalidated.curl)
    deleted = ctx.send("DELETE", f"/v1.0/{project}/services/{service}")
    yield step("S34", deleted.status == 202, f"delete the service: {deleted.status} "
               "(expected 202)", deleted.curl)
    if not accepted(deleted):
        yield Outcome("S18", Status.NOT_OBSERVABLE, "the service was not deleted: a deleted "
                      "service cannot be asked for", name, deleted.curl)
        return
    read = ctx.gone(project, service)
    yield step("S18", read.status == 404, f"a read once the deletion completed: "
               f"{read.status} (expected 404)", read.curl)
    again = ctx.purge(project, service, url="/index.html", hard="true")
    yield step("S18", again.status == 404, f"a purge once the deletion completed: "
               f"{again.status} (expected 404)", again.curl)
    listed = ctx.send("GET", f"/v1.0/{project}/services")
    ids = listed_ids(listed)
    if ids is not None and service not in ids and len(ids) >= (ctx.contract.page_size or 20):
        yield Outcome("S34", Status.NOT_OBSERVABLE, "the list's first page is full (a real "
                      "account's): it cannot show the deleted service is gone", name,
                      listed.curl)
        return
    yield step("S34", ids is not None and service not in ids, "the list once the deletion "
               "completed " + ("is not a services page" if ids is None else
                               "still holds the service" if service in ids else
                               "no longer holds it"), listed.curl)
