"""The audit hash chain: append (serialised) and verify.

Each record's hash is ``sha256(prev_hash + canonical_json(record))`` where the record holds seq, at,
kind, principal, action_id and payload. The payload is stored as its canonical JSON text, so any byte
that changes either changes the hash or breaks the canonical form; both are caught by ``verify_chain``.
A single head row holds the last seq and hash: appenders lock it, and verify compares it with the tail.
A tail deleted together with a rewound head row leaves a valid shorter chain; only a head recorded
outside the database (``HeadAnchor``, printed by every successful verify) catches that.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select, update

from copilot.domain import AuditEvent
from copilot.errors import StateError, UserInputError
from copilot.redaction import redact_obj
from copilot.store.models import GENESIS_HASH, audit_head, audit_log


def _redact_payload(payload: Mapping[str, Any]) -> dict[str, Any]:
    """Mask secrets before a payload is hashed and stored (invariant 4)."""
    redacted = redact_obj(dict(payload))
    return dict(redacted)


def canonical_json(value: Any) -> str:
    """One stable JSON text for a value: sorted keys, no spaces, UTF-8 kept."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def record_hash(prev_hash: str, *, seq: int, at: str, kind: str, principal: str | None,
                action_id: str | None, payload_text: str) -> str:
    header = canonical_json({"seq": seq, "at": at, "kind": kind, "principal": principal,
                             "action_id": action_id})
    material = f"{prev_hash}\n{header}\n{payload_text}"
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


def format_at(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def append_event(conn: Connection, kind: str, *, principal: str | None, action_id: str | None,
                 payload: Mapping[str, Any], at: datetime) -> AuditEvent:
    """Append one record inside the caller's write transaction (locks the chain head first)."""
    head = conn.execute(select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == 1)
                        .with_for_update()).first()
    if head is None:
        raise StateError(f"cannot append to the audit log: {MISSING_HEAD.problem}")
    seq, prev_hash = int(head.seq) + 1, str(head.hash)
    clean = _redact_payload(payload)
    payload_text = canonical_json(clean)
    at_text = format_at(at)
    digest = record_hash(prev_hash, seq=seq, at=at_text, kind=kind, principal=principal,
                         action_id=action_id, payload_text=payload_text)
    conn.execute(audit_log.insert().values(seq=seq, at=at_text, kind=kind, principal=principal,
                                           action_id=action_id, payload=payload_text,
                                           prev_hash=prev_hash, hash=digest))
    conn.execute(update(audit_head).where(audit_head.c.id == 1).values(seq=seq, hash=digest))
    return AuditEvent(seq=seq, at=datetime.fromisoformat(at_text), kind=kind, principal=principal,
                      action_id=action_id, payload=json.loads(payload_text), prev_hash=prev_hash, hash=digest)


@dataclass(frozen=True)
class HeadAnchor:
    """A point of the chain recorded earlier (``SEQ:HASH``): the record ``seq`` must still have ``hash``.

    ``copilot audit verify`` prints one on success; keep it outside the database (a ticket, a log
    shipper) and pass it back with ``--expect-head`` to catch a tail that was cut off and its head
    row rewound, which the chain alone cannot show.
    """

    seq: int
    hash: str

    @classmethod
    def parse(cls, text: str) -> HeadAnchor:
        seq_text, _, digest = text.strip().lower().partition(":")
        if not (seq_text.isdigit() and len(digest) == 64 and all(c in "0123456789abcdef" for c in digest)):
            raise UserInputError(f"--expect-head {text!r} is not SEQ:HASH; pass the 'head' that an "
                                 "earlier `copilot audit verify` printed, e.g. 42:<64 hex digits>")
        return cls(seq=int(seq_text), hash=digest)

    def __str__(self) -> str:
        return f"{self.seq}:{self.hash}"


@dataclass(frozen=True)
class ChainReport:
    """What ``verify_chain`` found: ok, how many records, the head it ended at, and the first bad one."""

    ok: bool
    count: int
    bad_seq: int | None = None
    problem: str = ""
    head: HeadAnchor | None = None

    def describe(self) -> str:
        if self.ok:
            return f"audit chain intact: {self.count} records; head {self.head}"
        if self.bad_seq is None:
            return f"audit chain broken: {self.problem}"
        return f"audit chain broken at record seq={self.bad_seq}: {self.problem}"


MISSING_HEAD = ChainReport(
    ok=False, count=0,
    problem="the chain head row (table audit_head, id=1) is missing; it was deleted. Restore the "
            "database from a backup and compare it with the last head an earlier verify printed")


@dataclass(frozen=True)
class StoredRecord:
    seq: int
    at: str
    kind: str
    principal: str | None
    action_id: str | None
    payload: str
    prev_hash: str
    hash: str


def verify_chain(records: Iterable[StoredRecord], *, head_seq: int, head_hash: str,
                 expect_head: HeadAnchor | None = None) -> ChainReport:
    """Walk the records in seq order; report the first gap, reorder, edit or truncation.

    With ``expect_head`` (a head an earlier verify printed) the record at that seq must still be
    there with that hash, which catches the last records deleted together with a rewound head row.
    """
    expected_seq, prev_hash, count = 1, GENESIS_HASH, 0
    hash_at_anchor = GENESIS_HASH if expect_head is not None and expect_head.seq == 0 else None
    for record in records:
        problem = _record_problem(record, expected_seq, prev_hash)
        if problem:
            return ChainReport(ok=False, count=count, bad_seq=record.seq, problem=problem)
        expected_seq, prev_hash, count = record.seq + 1, record.hash, count + 1
        if expect_head is not None and record.seq == expect_head.seq:
            hash_at_anchor = record.hash
    if head_seq != expected_seq - 1 or head_hash != prev_hash:
        return ChainReport(ok=False, count=count, bad_seq=expected_seq,
                           problem=f"chain head says seq={head_seq} but the log ends at "
                                   f"seq={expected_seq - 1}; records were deleted from the end or the head "
                                   "was edited")
    if expect_head is not None:
        problem = _anchor_problem(expect_head, hash_at_anchor, last_seq=expected_seq - 1)
        if problem:
            return ChainReport(ok=False, count=count, bad_seq=expect_head.seq, problem=problem)
    return ChainReport(ok=True, count=count, head=HeadAnchor(seq=expected_seq - 1, hash=prev_hash))


def _anchor_problem(anchor: HeadAnchor, hash_at_anchor: str | None, *, last_seq: int) -> str:
    if hash_at_anchor is None:
        return (f"the log ends at seq={last_seq} but an earlier verify saw head seq={anchor.seq}; "
                "records were deleted from the end and the head row rewound")
    if hash_at_anchor != anchor.hash:
        return (f"record seq={anchor.seq} no longer has the hash an earlier verify saw; the chain was "
                "rewritten from there on")
    return ""


def _record_problem(record: StoredRecord, expected_seq: int, prev_hash: str) -> str:
    if record.seq != expected_seq:
        return f"expected seq={expected_seq}; records are missing or reordered"
    if record.prev_hash != prev_hash:
        return "prev_hash does not match the previous record's hash; a record was removed or moved"
    try:
        canonical = canonical_json(json.loads(record.payload))
    except json.JSONDecodeError:
        return "payload is not valid JSON; it was edited"
    if canonical != record.payload:
        return "payload is not in canonical form; it was edited"
    digest = record_hash(record.prev_hash, seq=record.seq, at=record.at, kind=record.kind,
                         principal=record.principal, action_id=record.action_id, payload_text=record.payload)
    if digest != record.hash:
        return "hash does not match the record's content; the record was edited"
    return ""


def to_event(record: StoredRecord) -> AuditEvent:
    return AuditEvent(seq=record.seq, at=datetime.fromisoformat(record.at), kind=record.kind,
                      principal=record.principal, action_id=record.action_id,
                      payload=json.loads(record.payload), prev_hash=record.prev_hash, hash=record.hash)
