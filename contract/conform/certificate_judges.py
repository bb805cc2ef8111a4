"""The SSL-certificate judge (2016-08, S41-S46): what `certificate_probes` recorded, judged.

Each statement is judged on its own exchanges, so one wrong answer fails one statement; a
statement about a certificate the target never created is not observable, never passed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from contract.conform.judges import Expect, outcome, unobservable
from contract.conform.outcome import Outcome
from contract.conform.probes import Record
from contract.conform.target import Answer


def certificates(record: Record, expect: Expect) -> Iterator[Outcome]:
    seen, domain, ours = record.exchanges, record.seen["domain"], record.seen["domains"]
    created = seen["create"]
    yield _not_our_domain("S41", created, ours) or outcome(
        "S41", created.status == 202, f"a create of a `san` certificate for {domain} "
        f"answered {created.status} (expected 202)", created)
    if created.accepted:
        yield outcome("S41", created.response.content == b"", f"the create's "
                      f"{created.status} carries {len(created.response.content)} body bytes "
                      "(expected none)", created)
    for label in ("create without flavor_id", "create with a flavor_id of 2 characters"):
        yield _not_our_domain("S41", seen[label], ours) or \
            _refused("S41", seen[label], f"a {label}", "400")
    custom = seen["custom"]
    yield _not_our_domain("S42", custom, ours) or outcome(
        "S42", custom.status == 400 and "custom" in custom.response.text,
        f"a create with cert_type `custom` answered {custom.status}"
        f"{_naming(custom, 'custom')} (\"custom is not yet implemented\": expected 400 naming "
        "it)", custom)
    if not created.accepted:
        for statement in ("S43", "S44"):
            yield unobservable(statement, f"the create answered {created.status}: no "
                               "certificate to ask about")
    else:
        again = seen["the same domain again"]
        yield outcome("S43", again.status == 400 and domain in again.response.text.lower(),
                      f"a second certificate for {domain.upper()} answered {again.status}"
                      f"{_naming(again, domain)} (expected 400 naming the domain)", again)
        deleted = seen["delete"]
        yield outcome("S44", deleted.status == 202 and deleted.response.content == b"",
                      f"the delete of {domain}'s certificate answered {deleted.status} with "
                      f"{len(deleted.response.content)} body bytes (expected 202, none)",
                      deleted)
        if deleted.accepted:
            renewed = seen["create after the delete"]
            yield outcome("S43", renewed.accepted, f"a create for {domain} once its "
                          f"certificate was deleted answered {renewed.status} (expected it "
                          "accepted)", renewed)
            yield _refused("S45", seen["delete again"], "a second delete", "404")
    yield _not_our_domain("S45", seen["a domain never certified"], ours) or _refused(
        "S45", seen["a domain never certified"], "a delete of a domain never certified", "404")
    if "a delete by another project" in seen and created.accepted:
        yield _refused("S45", seen["a delete by another project"],
                       "a delete by another project", "404")
    elsewhere = seen["create naming another project in the body"]
    if (refused := _not_our_domain("S46", elsewhere, ours)) is not None:
        yield refused
    elif not elsewhere.accepted:
        yield unobservable("S46", f"the create whose body names another project answered "
                           f"{elsewhere.status}: no certificate to look for")
    else:
        mine = seen["its delete in the request's project"]
        yield outcome("S46", mine.accepted, f"the certificate created in project "
                      f"{record.seen['project']} with another project_id in its body: its "
                      f"delete there answered {mine.status} (expected it accepted: the "
                      "certificate is the request's project's)", mine)


INVALID = re.compile(r"valid|resolv|\bdns\b|\bsoa\b|root domain|not allowed", re.IGNORECASE)


def _not_our_domain(statement: str, answer: Answer, ours: set[str]) -> Outcome | None:
    """A refusal that names one of the suite's domains as invalid (a target that looks the
    domain up in the DNS) is about the domain the suite chose, not the statement: not
    observable, the answer quoted, and how to choose another (issue 48: S41 failed on the
    suite's own fixture)."""
    text = answer.response.text.lower()
    if not 400 <= answer.status < 500 or INVALID.search(text) is None or \
            not any(domain.lower() in text for domain in ours):
        return None
    return unobservable(statement, f"the target refused the suite's domain: "
                        f"{answer.describe()} (--certificate-domain names one it accepts)",
                        answer, f"{statement} not observable: the target refused the suite's "
                        "domain")


def _refused(statement: str, answer: Answer, what: str, status: str) -> Outcome:
    return outcome(statement, str(answer.status) == status,
                   f"{what} answered {answer.status} (expected {status})", answer)


def _naming(answer: Answer, text: str) -> str:
    return " naming it" if text.lower() in answer.response.text.lower() else ""
