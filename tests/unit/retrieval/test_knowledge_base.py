"""Ingestion and search over the real corpora (openshift, knowledge/), re-ingest and bad files."""

from __future__ import annotations

from pathlib import Path

import pytest

from copilot.catalog import Catalog
from copilot.errors import UserInputError
from copilot.ports import Retriever
from copilot.retrieval import IngestReport, KnowledgeBase

from .kb_helpers import open_test_kb

# ------------------------------------------------ openshift corpus (external, no front matter)


def test_openshift_corpus_ingests_every_markdown_file(
    openshift_kb: tuple[KnowledgeBase, IngestReport], openshift_dir: Path
) -> None:
    kb, report = openshift_kb
    markdown = list(openshift_dir.rglob("*.md"))
    assert report.files == len(markdown) == len(kb.documents())
    assert report.skipped == []
    assert report.ignored_non_markdown == 2  # LICENSE, SOURCE.txt
    assert report.chunks >= len(markdown) * 3
    assert isinstance(kb, Retriever)


def test_chunks_cite_exact_line_ranges(
    openshift_kb: tuple[KnowledgeBase, IngestReport], openshift_dir: Path
) -> None:
    kb, _ = openshift_kb
    for doc in kb.documents()[::7]:
        lines = (openshift_dir / doc.source_path).read_text().split("\n")
        for chunk in doc.chunks:
            assert 1 <= chunk.line_start <= chunk.line_end <= len(lines)
            assert chunk.text == "\n".join(lines[chunk.line_start - 1 : chunk.line_end]).strip()


def test_inferred_metadata_and_candidate_calls(openshift_kb: tuple[KnowledgeBase, IngestReport]) -> None:
    kb, _ = openshift_kb
    doc = kb.get_document("cluster-monitoring-operator/KubePodNotReady")
    assert doc is not None
    assert doc.source_path == "cluster-monitoring-operator/KubePodNotReady.md"
    assert doc.alert_names == ("KubePodNotReady",)
    assert doc.services == ("cluster-monitoring-operator",)
    assert [c.section for c in doc.chunks] == ["Meaning", "Impact", "Diagnosis", "Mitigation"]
    diagnosis = doc.chunks[2]
    calls = [(c.tool, c.args) for c in diagnosis.candidate_calls]
    assert calls == [
        ("describe_pod", {"namespace": "$NAMESPACE", "pod": "$POD"}),
        ("get_logs", {"namespace": "$NAMESPACE", "pod": "$POD"}),
    ]
    assert all(diagnosis.line_start <= c.line <= diagnosis.line_end for c in diagnosis.candidate_calls)  # type: ignore[operator]
    example = kb.get_document("example")
    assert example is not None and example.alert_names == ("NodeFilesystemSpaceFillingUp",)  # from the title


def test_alert_boost_filters_and_unknown_filter(openshift_kb: tuple[KnowledgeBase, IngestReport]) -> None:
    kb, _ = openshift_kb
    hits = kb.search("the pod is not ready", k=3, alert_name="kubepodnotready")
    assert hits and all(h.doc_id == "cluster-monitoring-operator/KubePodNotReady" for h in hits)
    assert hits[0].score >= hits[-1].score
    only = kb.search(
        "etcd members", k=10, filters={"section": "diagnosis", "service": "cluster-etcd-operator"}
    )
    assert only and all(
        h.section == "Diagnosis" and h.doc_id.startswith("cluster-etcd-operator/") for h in only
    )
    none = kb.search("etcd members", filters={"alert_name": "NoSuchAlert"})
    assert none == []
    with pytest.raises(UserInputError, match="unknown search filter"):
        kb.search("x", filters={"colour": "red"})
    assert kb.get_document("does/not/exist") is None


# ------------------------------------------------ knowledge/ (ours, with front matter)


def test_shipped_knowledge_ingests_with_steps(
    shipped_kb: tuple[KnowledgeBase, IngestReport], catalog: Catalog
) -> None:
    kb, report = shipped_kb
    assert report.skipped == [], report.skipped
    docs = kb.documents()
    assert len(docs) >= 25
    for doc in docs:
        assert doc.alert_names, doc.doc_id
        assert doc.front_matter.get("alerts"), doc.doc_id
        assert all(step.tool in catalog for step in doc.steps)
    assert sum(1 for doc in docs if doc.steps) >= 25


def test_shipped_knowledge_covers_every_catalog_tool(
    shipped_kb: tuple[KnowledgeBase, IngestReport], catalog: Catalog
) -> None:
    kb, _ = shipped_kb
    used = {step.tool for doc in kb.documents() for step in doc.steps}
    used |= {call.tool for doc in kb.documents() for chunk in doc.chunks for call in chunk.candidate_calls}
    assert set(catalog.names) - used == set()


def test_step_placeholders_are_normalised(shipped_kb: tuple[KnowledgeBase, IngestReport]) -> None:
    kb, _ = shipped_kb
    step_args = kb.get_document("deploy-5xx-spike").steps[1].args  # type: ignore[union-attr]
    assert step_args == {"namespace": "$NAMESPACE", "deployment": "$DEPLOYMENT"}


@pytest.mark.slow
def test_real_model_finds_our_runbook_from_a_symptom(
    tmp_path: Path, catalog: Catalog, repo_root: Path
) -> None:
    from copilot.retrieval.embeddings import embed_texts

    kb = open_test_kb(tmp_path, catalog, embed=embed_texts)
    kb.ingest([repo_root / "knowledge"])
    hits = kb.search("checkout started throwing 500s right after the release", k=3)
    kb.close()
    assert hits[0].doc_id == "deploy-5xx-spike"


# ------------------------------------------------------------------ re-ingest, bad files

RUNBOOK = (
    "# {name}\n\n## Meaning\n\nThe {name} alert fires when things break.\n\n## Mitigation\n\n"
    "```console\n$ kubectl -n $NAMESPACE rollout restart deployment/$DEPLOYMENT\n```\n"
)


def _write_corpus(root: Path) -> None:
    (root / "team").mkdir(parents=True)
    for name in ("DiskAlmostFull", "QueueBacklogGrowing", "CacheHitRateLow"):
        (root / "team" / f"{name}.md").write_text(RUNBOOK.format(name=name))
    (root / "notes.txt").write_text("not a runbook")


def test_reingest_skips_unchanged_replaces_changed_removes_deleted(tmp_path: Path, catalog: Catalog) -> None:
    corpus = tmp_path / "corpus"
    _write_corpus(corpus)
    embedded: list[int] = []

    def counting(texts):  # type: ignore[no-untyped-def]
        from .kb_helpers import hashed_bag_of_words

        embedded.append(len(texts))
        return hashed_bag_of_words(texts)

    kb = open_test_kb(tmp_path / "home", catalog, embed=counting)
    first = kb.ingest([corpus])
    assert (first.files, first.added, first.ignored_non_markdown) == (3, 3, 1)
    again = kb.ingest([corpus])
    assert (again.unchanged, again.added, again.updated, again.embedded_chunks) == (3, 0, 0, 0)
    assert again.chunks == first.chunks
    (corpus / "team" / "CacheHitRateLow.md").write_text(RUNBOOK.format(name="CacheHitRateLow") + "\nMore.\n")
    (corpus / "team" / "QueueBacklogGrowing.md").unlink()
    third = kb.ingest([corpus])
    assert (third.unchanged, third.updated, third.removed) == (1, 1, 1)
    assert [d.doc_id for d in kb.documents()] == ["team/CacheHitRateLow", "team/DiskAlmostFull"]
    assert kb.get_document("team/CacheHitRateLow").chunks[-1].text.endswith("More.")  # type: ignore[union-attr]
    calls_before = sum(embedded)
    kb.close()
    reopened = open_test_kb(tmp_path / "home", catalog, embed=counting)  # state survives a restart
    assert reopened.ingest([corpus]).unchanged == 2
    assert sum(embedded) == calls_before
    reopened.close()


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"# Bad\n\nCaf\xe9 is not UTF-8\n", "not UTF-8"),
        (b"---\nalerts: [A, B\n---\n# Broken\n", "front matter is not valid YAML"),
        (b"---\nalerts: [A]\n# never closed\n", "no closing '---'"),
        (b"---\n- just\n- a list\n---\n# List\n", "must be a YAML mapping"),
        (
            b"---\nsteps:\n  - tool: reboot_the_world\n---\n# Unknown tool\n",
            "unknown tool 'reboot_the_world'",
        ),
        (b"---\nrisk: extreme\n---\n# Risky\n", "risk: 'extreme'"),
        (b"---\nsteps:\n  - tool: get_logs\n    phase: later\n---\n# Bad phase\n", "steps[1].phase"),
    ],
)
def test_bad_file_is_reported_and_skipped_not_fatal(
    tmp_path: Path, catalog: Catalog, content: bytes, reason: str
) -> None:
    corpus = tmp_path / "corpus"
    _write_corpus(corpus)
    (corpus / "team" / "Broken.md").write_bytes(content)
    kb = open_test_kb(tmp_path / "home", catalog)
    report = kb.ingest([corpus])
    kb.close()
    assert report.files == 4 and report.added == 3
    assert [s.path for s in report.skipped] == ["team/Broken.md"]
    assert reason in report.skipped[0].reason


def test_duplicate_front_matter_id_is_skipped_and_missing_folder_is_an_error(
    tmp_path: Path, catalog: Catalog
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in ("a", "b"):
        (corpus / f"{name}.md").write_text("---\nid: same\n---\n# Same\n\ntext\n")
    kb = open_test_kb(tmp_path / "home", catalog)
    report = kb.ingest([corpus])
    assert report.added == 1 and "also used by a.md" in report.skipped[0].reason
    with pytest.raises(UserInputError, match="not a folder"):
        kb.ingest([tmp_path / "missing"])
    kb.close()


def test_ephemeral_open_changes_nothing_persistent(tmp_path: Path, catalog: Catalog) -> None:
    from copilot.retrieval import open_knowledge_base
    from copilot.settings import Settings

    shipped, extra = tmp_path / "shipped", tmp_path / "extra"
    _write_corpus(shipped)
    extra.mkdir()
    (extra / "CertExpiringSoon.md").write_text(RUNBOOK.format(name="CertExpiringSoon"))
    settings = Settings(home=tmp_path / "home", knowledge_dir=shipped)
    stages: list[str] = []
    kb = open_knowledge_base(settings, catalog, extra_dirs=[extra], ephemeral=True,
                             progress=lambda stage, done, total: stages.append(stage))
    assert len(kb.documents()) == 4 and {"reading", "embedding"} <= set(stages)
    kb.close()
    assert not settings.chroma_path.exists()  # only the embedding cache (a cache) was written
    persistent = open_knowledge_base(settings, catalog, include_shipped=False)
    assert persistent.documents() == []
    persistent.close()
