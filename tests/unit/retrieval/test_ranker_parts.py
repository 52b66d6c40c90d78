"""HybridRanker pieces that a benchmark alone would not pin down: the dense runbook score, the
leader gate, RRF fusion and initialism expansion inside a real search."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace
from typing import Any

import numpy as np

from copilot.retrieval import KnowledgeBase
from copilot.retrieval.hybrid import DEFAULT_TUNING
from copilot.retrieval.ranking import HybridRanker


def ranker(doc_of_chunk: list[int], **tuning: Any) -> HybridRanker:
    index = SimpleNamespace(doc_of_chunk=np.array(doc_of_chunk))
    return HybridRanker(index, None, None, replace(DEFAULT_TUNING, **tuning))  # type: ignore[arg-type]


def test_two_good_passages_beat_one_lucky_passage() -> None:
    # runbook 0 has chunks 0 and 1, runbook 1 chunk 2, runbook 2 chunk 3
    chunks = {2: 0.91, 0: 0.90, 1: 0.89, 3: 0.50}
    folded = ranker([0, 0, 1, 2])._fold_two(chunks)
    assert list(folded) == [0, 1, 2]
    assert folded[0] == 0.90 + 0.25 * 0.89 and folded[1] == 0.91 + 0.25 * 0.50
    plain = ranker([0, 0, 1, 2], dense_second_chunk=0.0)._fold_two(chunks)
    assert list(plain)[0] == 1  # without the second passage the lucky one wins


def test_name_coverage_leaders_must_cover_half_the_name() -> None:
    rankings = {"doc_bm25": {1: 10.0, 2: 9.0, 3: 8.0}, "name_coverage": {5: 0.6, 6: 0.4}}
    assert ranker([])._leaders(9, rankings) == [9, 1, 5, 2]
    assert ranker([], leader_min_coverage=0.3)._leaders(9, rankings) == [9, 1, 5, 2, 6]


def test_rrf_fusion_ranks_by_reciprocal_rank(openshift_kb: tuple[KnowledgeBase, object]) -> None:
    kb, _ = openshift_kb
    default = kb.tuning
    try:
        kb.tuning = replace(default, fusion="rrf")
        hits = kb.search_ranked("etcd cluster has no leader", 5, mode="bm25")
        fused = kb.search_ranked("etcd has no leader", 5, alert_name="etcdNoLeader")
    finally:
        kb.tuning = default
    assert hits and hits[0].source_path == "cluster-etcd-operator/etcdNoLeader.md"
    assert fused[0].source_path == "cluster-etcd-operator/etcdNoLeader.md"


def test_initials_reach_the_component_runbook(openshift_kb: tuple[KnowledgeBase, object]) -> None:
    kb, _ = openshift_kb
    found = [hit.source_path for hit in kb.search_ranked("kcm is gone", 3, mode="bm25")]
    assert found[0] == "cluster-kube-controller-manager-operator/KubeControllerManagerDown.md"
