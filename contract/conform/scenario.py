"""The stateful scenario: a service's life with purges, as a client would live it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace

from contract.conform.judges import about_state, outcome, taken, unobservable
from contract.conform.outcome import Outcome
from contract.conform.probes import Context, Unobservable, listed_ids
from contract.conform.target import Answer

NAME = "scenario: create, deploy, purge, invalidate, delete"


class Beside:
    """The scenario in a thread of its own, beside the other checks and schemathesis: its
    deletion wait (up to --deploy-timeout) is no longer added after them (issue 48: a
    deletion that never completed cost the whole timeout at the end). Its service is taken
    in the calling thread (the prepared ones are handed out there); `outcomes` waits for
    the rest and gives what it judged (so far, once the run was stopped: `judged`)."""

    def __init__(self, ctx: Context):
        self.judged: list[Outcome] = []
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        try:
            project, service = ctx.service()
        except Unobservable as failed:
            self.judged = [failed.outcome(statement, NAME) for statement in ("S2", "S34")]
            return
        self._thread = threading.Thread(target=self._live, args=(ctx, project, service),
                                        name="conform scenario", daemon=True)
        self._thread.start()

    def _live(self, ctx: Context, project: str, service: str) -> None:
        try:
            for found in lifecycle(ctx, project, service):
                self.judged.append(found)
        except BaseException as error:  # raised again in the run's thread (`outcomes`)
            self._error = error

    def outcomes(self) -> list[Outcome]:
        if self._thread is not None:
            self._thread.join()
        if self._error is not None:
            raise self._error
        return self.judged


def lifecycle(ctx: Context, project: str, service: str) -> Iterator[Outcome]:
    """create → deployed → purge → invalidate a wildcard → delete → (delete_in_progress) →
    gone: 404 to a read and a purge, absent from the list (S2, S14, S18, S34), on a
    deployed service of its own."""
    name = NAME

    def step(statement: str, ok: bool, message: str, answer: Answer, cause: str) -> Outcome:
        return replace(outcome(statement, ok, message, answer, f"{statement} {cause}"),
                       check=name)

    purged = ctx.purge(project, service, url="/index.html", hard="true")
    yield step("S2", purged.status == 202, f"purge of a deployed service: {purged.status}",
               purged, "scenario purge: expected 202")
    if "S14" in ctx.statements:
        invalidated = ctx.purge(project, service, url="/images/*", hard="false")
        judged = taken("S14", invalidated, f"wildcard invalidation: {invalidated.status}")
        yield replace(judged, check=name, cause=judged.cause if about_state(invalidated) else
                      f"S14 scenario invalidation: expected 2xx, got {invalidated.gist()}")
    deleted = ctx.send("DELETE", f"/v1.0/{project}/services/{service}")
    yield step("S34", deleted.status == 202, f"delete the service: {deleted.status} "
               "(expected 202)", deleted, "scenario delete: expected 202")
    if not deleted.accepted:
        yield replace(unobservable("S18", "the service was not deleted: a deleted service "
                                   "cannot be asked for", deleted, "S18 scenario: no delete"),
                      check=name)
        return
    seen = ctx.gone(project, service)  # S34 judges what it showed meanwhile
    if seen.last.status != 404:
        for statement in ("S18", "S34"):
            yield replace(unobservable(statement, f"the deletion did not complete within "
                                       f"--deploy-timeout (no 404 came; see S34): the service "
                                       f"showed {seen.history()}", seen.last,
                                       f"{statement} scenario: deletion never completed"),
                          check=name)
        return
    yield step("S18", True, f"a read once the deletion completed answered 404 (after "
               f"{seen.reads[-1][0]:.1f} s: {seen.history()})", seen.last,
               "scenario read once deleted: expected 404")
    again = ctx.purge(project, service, url="/index.html", hard="true")
    yield step("S18", again.status == 404, f"a purge once the deletion completed: "
               f"{again.status} (expected 404)",
               again, "scenario purge once deleted: expected 404")
    listed = ctx.send("GET", f"/v1.0/{project}/services")
    ids = listed_ids(listed)
    if ids is not None and service not in ids and len(ids) >= (ctx.contract.page_size or 20):
        yield replace(unobservable("S34", "the list's first page is full (a real account's): "
                                   "it cannot show the deleted service is gone", listed,
                                   "S34 scenario: list page full"), check=name)
        return
    yield step("S34", ids is not None and service not in ids, "the list once the deletion "
               "completed " + ("is not a services page" if ids is None else
                               "still holds the service" if service in ids else
                               "no longer holds it"), listed,
               "scenario list once deleted: expected without it")
