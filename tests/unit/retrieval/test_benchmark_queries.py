"""The benchmark's chat queries keep the issue's rules: colloquial, written by this project, with no
alert names and no phrases copied from the runbooks, each naming a runbook that exists. The blind
sets may quote an error message the way an engineer pastes one (``events: '0/12 nodes are
available ...'``); outside quotes they follow the same rule."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

QUERY_FILES = ("chat_queries.jsonl", "chat_queries_fresh.jsonl") + tuple(
    f"chat_queries_blind{n}.jsonl" for n in range(2, 6))
COPIED_RUN = 7  # this many words in a row shared with a runbook counts as a copied phrase
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")


def _rows(repo_root: Path, name: str) -> list[dict[str, str]]:
    path = repo_root / "benchmarks" / "data" / name
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def _runs(words: list[str], size: int) -> set[tuple[str, ...]]:
    return {tuple(words[i:i + size]) for i in range(len(words) - size + 1)}


@pytest.fixture(scope="module")
def corpus(openshift_dir: Path) -> tuple[set[str], set[str], set[tuple[str, ...]]]:
    """Runbook paths, alert names (file stems and alerts.json) and every 7-word run of the corpus."""
    paths, names, runs = set(), set(), set()
    for path in openshift_dir.rglob("*.md"):
        paths.add(path.relative_to(openshift_dir).as_posix())
        if re.fullmatch(r"[A-Z][A-Za-z0-9]+", path.stem):
            names.add(path.stem)
        runs |= _runs(_words(path.read_text(encoding="utf-8", errors="replace")), COPIED_RUN)
    alerts = json.loads((openshift_dir.parent.parent / "alerts" / "alerts.json").read_text())
    names |= {rule["name"] for rule in alerts}
    return paths, names, runs


@pytest.mark.parametrize("name", QUERY_FILES)
def test_chat_queries_follow_the_issue_rules(repo_root: Path, corpus: tuple, name: str) -> None:
    paths, names, runs = corpus
    rows = _rows(repo_root, name)
    assert len(rows) >= 40
    assert len({row["query"] for row in rows}) == len(rows), "duplicate queries"
    for row in rows:
        assert row["expected"] in paths, f"{row['expected']} is not a runbook of the corpus"
        query_words = set(_words(row["query"]))
        named = [alert for alert in names if alert.lower() in query_words]
        assert not named, f"alert name {named} in {row['query']!r}"
        text = row["query"] if name == "chat_queries.jsonl" else _QUOTED.sub("\n", row["query"])
        copied = set().union(*(_runs(_words(part), COPIED_RUN) for part in text.splitlines())) & runs
        assert not copied, f"phrase copied from a runbook in {row['query']!r}: {sorted(copied)[0]}"


def test_the_main_chat_set_is_large_enough(repo_root: Path) -> None:
    assert len(_rows(repo_root, "chat_queries.jsonl")) >= 60
