"""The audit hash chain, pure: every edit, deletion or reordering is caught and the first bad seq named."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest

from copilot.errors import UserInputError
from copilot.store.audit import HeadAnchor, StoredRecord, canonical_json, record_hash, verify_chain
from copilot.store.models import GENESIS_HASH

Records = list[StoredRecord]


def build_chain(n: int = 6) -> Records:
    records: Records = []
    prev = GENESIS_HASH
    for seq in range(1, n + 1):
        payload = canonical_json({"tool": "restart_deployment", "args": {"namespace": "shop", "n": seq},
                                  "reasons": ["needs 1 approval"], "note": "ünïcode"})
        at = f"2025-01-01T12:00:{seq:02d}.000000+00:00"
        digest = record_hash(prev, seq=seq, at=at, kind="approval", principal="alice", action_id="a1",
                             payload_text=payload)
        records.append(StoredRecord(seq=seq, at=at, kind="approval", principal="alice", action_id="a1",
                                    payload=payload, prev_hash=prev, hash=digest))
        prev = digest
    return records


def check(records: Records, head: StoredRecord) -> tuple[bool, int | None]:
    report = verify_chain(records, head_seq=head.seq, head_hash=head.hash)
    return report.ok, report.bad_seq


def test_intact_chain_verifies() -> None:
    chain = build_chain()
    report = verify_chain(chain, head_seq=6, head_hash=chain[-1].hash)
    assert report.ok and report.count == 6
    assert "intact: 6 records" in report.describe()


def test_empty_chain_verifies() -> None:
    assert verify_chain([], head_seq=0, head_hash=GENESIS_HASH).ok


def flip_byte(text: str, index: int) -> str:
    return text[:index] + chr(ord(text[index]) ^ 1) + text[index + 1:]


def edit(seq: int, **changes: object) -> Callable[[Records], Records]:
    def apply(records: Records) -> Records:
        return [dataclasses.replace(r, **changes) if r.seq == seq else r for r in records]  # type: ignore[arg-type]
    return apply


def edit_payload(seq: int, fn: Callable[[str], str]) -> Callable[[Records], Records]:
    def apply(records: Records) -> Records:
        return [dataclasses.replace(r, payload=fn(r.payload)) if r.seq == seq else r for r in records]
    return apply


def delete(seq: int) -> Callable[[Records], Records]:
    return lambda records: [r for r in records if r.seq != seq]


def swap_contents(a: int, b: int) -> Callable[[Records], Records]:
    """Exchange everything but seq between two records (what swapping two rows' data looks like)."""
    def apply(records: Records) -> Records:
        by_seq = {r.seq: r for r in records}
        ra, rb = by_seq[a], by_seq[b]
        by_seq[a], by_seq[b] = dataclasses.replace(rb, seq=a), dataclasses.replace(ra, seq=b)
        return [by_seq[s] for s in sorted(by_seq)]
    return apply


def swap_order(a: int, b: int) -> Callable[[Records], Records]:
    def apply(records: Records) -> Records:
        out = list(records)
        out[a - 1], out[b - 1] = out[b - 1], out[a - 1]
        return out
    return apply


def renumber_after_delete(seq: int) -> Callable[[Records], Records]:
    """Delete a record and renumber the rest to hide the gap."""
    def apply(records: Records) -> Records:
        kept = [r for r in records if r.seq != seq]
        return [dataclasses.replace(r, seq=i) for i, r in enumerate(kept, start=1)]
    return apply


TAMPERINGS = [
    ("one byte of a payload", edit_payload(3, lambda p: flip_byte(p, 10)), 3),
    ("one byte in a unicode payload", edit_payload(2, lambda p: p.replace("ü", "u")), 2),
    ("whitespace added to a payload", edit_payload(4, lambda p: p.replace(",", ", ", 1)), 4),
    ("payload no longer JSON", edit_payload(5, lambda p: p[:-1]), 5),
    ("kind changed", edit(2, kind="rejected"), 2),
    ("principal changed", edit(1, principal="mallory"), 1),
    ("principal erased", edit(4, principal=None), 4),
    ("action id changed", edit(6, action_id="a2"), 6),
    ("timestamp changed", edit(3, at="2025-01-01T12:00:59.000000+00:00"), 3),
    ("hash replaced", edit(2, hash="f" * 64), 2),
    ("prev_hash replaced", edit(5, prev_hash="0" * 64), 5),
    ("first record deleted", delete(1), 2),
    ("middle record deleted", delete(3), 4),
    ("deleted and renumbered", renumber_after_delete(3), 3),
    ("two records' contents swapped", swap_contents(2, 3), 2),
    ("two records reordered", swap_order(4, 5), 5),
    ("first and last swapped", swap_contents(1, 6), 1),
]


@pytest.mark.parametrize(("what", "tamper", "bad_seq"), TAMPERINGS, ids=[t[0] for t in TAMPERINGS])
def test_tampering_is_caught_at_the_first_bad_record(what: str, tamper: Callable[[Records], Records],
                                                     bad_seq: int) -> None:
    chain = build_chain()
    ok, found = check(tamper(chain), head=chain[-1])
    assert not ok, what
    assert found == bad_seq


def test_truncated_tail_is_caught_by_the_head() -> None:
    chain = build_chain()
    report = verify_chain(chain[:-2], head_seq=6, head_hash=chain[-1].hash)
    assert not report.ok and report.bad_seq == 5
    assert "deleted from the end" in report.problem


def test_recomputed_tail_still_disagrees_with_the_head() -> None:
    """An attacker who rewrites a record and recomputes every later hash still fails at the head."""
    chain = build_chain()
    forged: Records = chain[:2]
    prev = chain[1].hash
    for record in chain[2:]:
        payload = record.payload.replace("needs 1 approval", "approved by ceo")
        digest = record_hash(prev, seq=record.seq, at=record.at, kind=record.kind, principal=record.principal,
                             action_id=record.action_id, payload_text=payload)
        forged.append(dataclasses.replace(record, payload=payload, prev_hash=prev, hash=digest))
        prev = digest
    report = verify_chain(forged, head_seq=6, head_hash=chain[-1].hash)
    assert not report.ok and report.bad_seq == 7


def anchor_of(record: StoredRecord) -> HeadAnchor:
    return HeadAnchor(seq=record.seq, hash=record.hash)


def test_success_reports_the_head_to_keep() -> None:
    chain = build_chain()
    report = verify_chain(chain, head_seq=6, head_hash=chain[-1].hash)
    assert report.head == anchor_of(chain[-1])
    assert f"head 6:{chain[-1].hash}" in report.describe()
    assert HeadAnchor.parse(str(report.head)) == report.head


def test_cut_tail_with_a_rewound_head_is_caught_only_by_an_earlier_head() -> None:
    """Delete the last two records and set the head row to the new last one: a valid shorter chain."""
    chain = build_chain()
    cut = chain[:4]
    assert verify_chain(cut, head_seq=4, head_hash=cut[-1].hash).ok
    report = verify_chain(cut, head_seq=4, head_hash=cut[-1].hash, expect_head=anchor_of(chain[-1]))
    assert not report.ok and report.bad_seq == 6 and "deleted from the end" in report.problem


@pytest.mark.parametrize("at", [0, 1, 3, 6])
def test_an_earlier_head_inside_the_chain_verifies(at: int) -> None:
    chain = build_chain()
    anchor = HeadAnchor(seq=0, hash=GENESIS_HASH) if at == 0 else anchor_of(chain[at - 1])
    assert verify_chain(chain, head_seq=6, head_hash=chain[-1].hash, expect_head=anchor).ok


def test_an_earlier_head_with_another_hash_means_a_rewrite() -> None:
    chain = build_chain()
    report = verify_chain(chain, head_seq=6, head_hash=chain[-1].hash,
                          expect_head=HeadAnchor(seq=3, hash="a" * 64))
    assert not report.ok and report.bad_seq == 3 and "rewritten" in report.problem


@pytest.mark.parametrize("text", ["", "3", "3:", ":" + "a" * 64, "3:" + "g" * 64, "3:" + "a" * 63,
                                  "x:" + "a" * 64, "-3:" + "a" * 64])
def test_head_anchor_text_is_checked(text: str) -> None:
    with pytest.raises(UserInputError, match="SEQ:HASH"):
        HeadAnchor.parse(text)


def test_canonical_json_is_stable() -> None:
    assert canonical_json({"b": 1, "a": [1, "ü"]}) == '{"a":[1,"ü"],"b":1}'
    assert canonical_json({"a": 1}) == canonical_json({"a": 1})


def test_hash_depends_on_every_field() -> None:
    base = {"seq": 1, "at": "t", "kind": "k", "principal": "p", "action_id": "a", "payload_text": "{}"}
    reference = record_hash(GENESIS_HASH, **base)  # type: ignore[arg-type]
    for key, other in [("seq", 2), ("at", "u"), ("kind", "j"), ("principal", None), ("action_id", "b"),
                       ("payload_text", '{"x":1}')]:
        assert record_hash(GENESIS_HASH, **{**base, key: other}) != reference, key  # type: ignore[arg-type]
    assert record_hash("1" * 64, **base) != reference  # type: ignore[arg-type]
