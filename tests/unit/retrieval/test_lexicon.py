"""Lexicon: status synonyms in name coverage, and initialisms learned from the corpus."""

from __future__ import annotations

import pytest

from copilot.retrieval.bm25 import CoverageIndex
from copilot.retrieval.lexicon import Initialisms, stem, synonym_table, tokenize

CORPUS = [
    "Check the kube-controller-manager pods in openshift-kube-controller-manager.",
    "Restart kube-controller-manager if it is wedged; the cluster-version-operator reports it.",
    "The cluster-version-operator logs show the payload. Also see cluster-version-operator docs.",
    "The container-storage-interface driver and the cluster-storage-interface both exist.",
    "container-storage-interface and cluster-storage-interface again.",
    "Set --reserved-concurrent-executions 10 or <reserved-concurrent-executions> or $pod-to-pod-x.",
    "--reserved-concurrent-executions again, and a one-off pod-to-pod remark.",
]


def initialisms() -> Initialisms:
    vocabulary = frozenset(token for text in CORPUS for token in tokenize(text))
    return Initialisms(CORPUS, vocabulary)


@pytest.mark.parametrize(("query", "expected"), [
    ("kcm vanished from prometheus targets", ["kube controller manager"]),
    ("KCM and cvo both unhappy", ["kube controller manager", "cluster version operator"]),
    ("kcm kcm", ["kube controller manager"]),
])
def test_initialisms_expand_unknown_words_to_the_corpus_name(query: str, expected: list[str]) -> None:
    assert initialisms().expand(query) == expected


@pytest.mark.parametrize("query", [
    "csi driver broken",  # two names share the initials equally: no expansion
    "our cluster is slow",  # "our" is a stop word, "cluster" a corpus word
    "km is down",  # two letters: too short to trust
    "openshift kube logs",  # corpus words are never expanded
    "rce from the internet",  # learned only from a flag and a placeholder: not a name
    "ptp traffic dropped",  # a name the corpus uses once is not enough
])
def test_initialisms_leave_ambiguous_short_or_known_words_alone(query: str) -> None:
    assert initialisms().expand(query) == []


def test_a_word_the_corpus_uses_is_not_expanded_even_if_it_spells_initials() -> None:
    corpus = CORPUS + ["The kcm binary."]
    vocabulary = frozenset(token for text in corpus for token in tokenize(text))
    assert Initialisms(corpus, vocabulary).expand("kcm down") == []


def test_synonym_table_groups_stemmed_words_both_ways() -> None:
    table = synonym_table(["down unreachable vanished", "slow laggy"])
    assert set(table[stem("vanished")]) == {"down", "unreachabl", "vanish"}
    assert "vanish" in table["down"] and "slow" not in table["down"]


def test_name_coverage_counts_a_status_synonym_as_covering_the_name_word() -> None:
    names = [tokenize("KubeletDown"), tokenize("KubeletTooManyPods")]
    plain = CoverageIndex(names).scores(tokenize("kubelet vanished"))
    widened = CoverageIndex(names, synonym_table()).scores(tokenize("kubelet vanished"))
    assert widened[0] > plain[0] and widened[1] == pytest.approx(plain[1])
    assert widened[0] > widened[1]
    # synonyms widen only the query side: a name word is not covered by an unrelated word
    unrelated = CoverageIndex(names, synonym_table()).scores(tokenize("kubelet slow"))
    assert unrelated[0] == pytest.approx(plain[0])
