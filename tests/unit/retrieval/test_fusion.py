"""Fusion math: standardised-score fusion, reciprocal rank fusion, top-k selection, ranker weights."""

from __future__ import annotations

import math

import numpy as np
import pytest

from copilot.retrieval.bm25 import CoverageIndex, top_scores
from copilot.retrieval.hybrid import (
    DEFAULT_TUNING,
    DENSE,
    LEXICAL,
    Tuning,
    fuse,
    reciprocal_rank_fusion,
    reserve_leaders,
    standardize,
)
from copilot.retrieval.lexicon import tokenize


@pytest.mark.parametrize(("scores", "expected", "floor"), [
    ({}, {}, 0.0),
    ({7: 3.0}, {7: 1.0}, 0.0),  # one item: it leads, a missing item gets 0
    ({1: 2.0, 2: 2.0}, {1: 1.0, 2: 1.0}, 0.0),  # no spread
    ({1: 3.0, 2: 1.0}, {1: 1.0, 2: -1.0}, -1.0),
    ({1: 0.9, 2: 0.6, 3: 0.3}, {1: math.sqrt(1.5), 2: 0.0, 3: -math.sqrt(1.5)}, -math.sqrt(1.5)),
])
def test_standardize(scores: dict[int, float], expected: dict[int, float], floor: float) -> None:
    z, got_floor = standardize(scores)
    assert z == pytest.approx(expected) and got_floor == pytest.approx(floor)


@pytest.mark.parametrize(("rankings", "expected"), [
    ([], {}),
    ([({1: 3.0, 2: 1.0}, 1.0)], {1: 1.0, 2: -1.0}),
    # a ranker with weight 0, or with no items, has no say
    ([({1: 3.0, 2: 1.0}, 1.0), ({2: 9.0, 1: 1.0}, 0.0), ({}, 5.0)], {1: 1.0, 2: -1.0}),
    # two rankers that disagree: the heavier one wins
    ([({1: 3.0, 2: 1.0}, 0.7), ({2: 3.0, 1: 1.0}, 0.3)], {1: 0.4, 2: -0.4}),
    # an item one ranker missed gets that ranker's floor (its lowest z-score), not zero
    ([({1: 3.0, 2: 1.0}, 0.5), ({3: 5.0, 1: 1.0}, 0.5)], {1: 0.0, 2: -1.0, 3: 0.0}),
    # scale does not matter, only the spread within each list: BM25 units vs cosine units
    ([({1: 30.0, 2: 10.0}, 0.5), ({2: 0.9, 1: 0.7}, 0.5)], {1: 0.0, 2: 0.0}),
])
def test_fuse(rankings: list[tuple[dict[int, float], float]], expected: dict[int, float]) -> None:
    assert fuse(rankings) == pytest.approx(expected)


def test_fuse_keeps_margins_that_rank_fusion_loses() -> None:
    """A clear lead in one list beats a near-tie in the other; RRF sees only ranks and ties them."""
    clear_lead = {1: 10.0, 2: 1.0, 3: 0.9}
    near_tie = {2: 0.52, 1: 0.51, 3: 0.1}
    fused = fuse([(clear_lead, 0.5), (near_tie, 0.5)])
    assert max(fused, key=fused.__getitem__) == 1
    rrf = reciprocal_rank_fusion([(list(clear_lead), 1.0), (list(near_tie), 1.0)], k=60)
    assert rrf[1] == pytest.approx(rrf[2])  # ranks 1+2 and 2+1


@pytest.mark.parametrize(("rankings", "k", "expected"), [
    ([([1, 2], 1.0)], 60, {1: 1 / 61, 2: 1 / 62}),
    ([([1, 2], 1.0), ([2, 1], 2.0)], 0, {1: 1 + 2 / 2, 2: 1 / 2 + 2}),
])
def test_reciprocal_rank_fusion(rankings: list[tuple[list[int], float]], k: float,
                                expected: dict[int, float]) -> None:
    assert reciprocal_rank_fusion(rankings, k) == pytest.approx(expected)


@pytest.mark.parametrize(("order", "leaders", "slots", "expected"), [
    ([1, 2, 3, 4, 5, 6, 7], [], 5, [1, 2, 3, 4, 5, 6, 7]),
    ([1, 2, 3, 4, 5, 6, 7], [3, 1], 5, [1, 2, 3, 4, 5, 6, 7]),  # leaders already inside: unchanged
    ([1, 2, 3, 4, 5, 6, 7], [7], 5, [1, 2, 3, 4, 7, 5, 6]),  # moves to the end of the window
    ([1, 2, 3, 4, 5, 6, 7], [7, 6, 1], 5, [1, 2, 3, 6, 7, 4, 5]),  # fused order kept inside the window
    ([1, 2, 3, 4, 5, 6, 7], [7, 7], 5, [1, 2, 3, 4, 7, 5, 6]),  # duplicate leaders count once
    ([1, 2, 3], [9], 5, [1, 2, 3]),  # a leader not in the list is ignored
    ([1, 2, 3, 4], [4, 3], 1, [4, 1, 2, 3]),  # a window smaller than the leaders keeps the first leader
    ([1, 2, 3], [3], 0, [1, 2, 3]),  # off
])
def test_reserve_leaders(order: list[int], leaders: list[int], slots: int, expected: list[int]) -> None:
    got = reserve_leaders(order, leaders, slots)
    assert got == expected and sorted(got) == sorted(order)


@pytest.mark.parametrize(("scores", "n", "expected"), [
    ([0.0, 0.0], 5, {}),  # nothing matched
    ([0.0, 2.0, 1.0, 3.0], 2, {3: 3.0, 1: 2.0}),
    ([0.0, 2.0, 1.0, 3.0], 10, {3: 3.0, 1: 2.0, 2: 1.0}),
    ([1.0, 1.0, 1.0], 2, {0: 1.0, 1: 1.0}),
])
def test_top_scores(scores: list[float], n: int, expected: dict[int, float]) -> None:
    got = top_scores(np.array(scores, dtype=np.float32), n)
    assert got == expected and list(got) == list(expected)  # best first


@pytest.mark.parametrize(("mode", "names"), [
    ("hybrid", LEXICAL + DENSE), ("bm25", LEXICAL), ("dense", DENSE),
])
def test_weights_per_mode(mode: str, names: tuple[str, ...]) -> None:
    assert tuple(DEFAULT_TUNING.weights(mode)) == names


def test_default_weights_are_convex_and_unknown_mode_is_refused() -> None:
    assert sum(DEFAULT_TUNING.weights("hybrid").values()) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="unknown ranking mode"):
        Tuning().weights("fancy")


NAMES = ["KubeNodeNotReady", "PrometheusTargetSyncFailure", "KubeletDown", "etcdNoLeader"]


@pytest.mark.parametrize(("query", "best"), [
    ("node is not ready for 15 minutes", "KubeNodeNotReady"),
    ("prometheus target sync keeps failing", "PrometheusTargetSyncFailure"),
    ("kubelet disappeared from prometheus", "KubeletDown"),
    ("etcd has no leader", "etcdNoLeader"),
])
def test_name_coverage(query: str, best: str) -> None:
    index = CoverageIndex([tokenize(name) for name in NAMES])
    scores = index.scores(tokenize(query))
    assert NAMES[int(scores.argmax())] == best
    assert 0.0 <= scores.min() and scores.max() < 1.0  # the whole CamelCase name is a term too


def test_name_coverage_is_full_when_the_query_names_the_alert() -> None:
    index = CoverageIndex([tokenize(name) for name in NAMES])
    assert index.scores(tokenize("KubeletDown fired"))[2] == pytest.approx(1.0)


def test_name_coverage_ignores_repeated_query_words() -> None:
    index = CoverageIndex([tokenize(name) for name in NAMES])
    once = index.scores(tokenize("node not ready"))
    twice = index.scores(tokenize("node node not ready ready"))
    assert np.allclose(once, twice) and index.scores([]).max() == 0.0


def test_an_unknown_fusion_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown fusion"):
        Tuning(fusion="bogus")
