"""Retrieval fixtures: session-scoped indexes built once (with the fast stand-in embedder)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from copilot.catalog import Catalog
from copilot.retrieval import KnowledgeBase

from .kb_helpers import open_test_kb


@pytest.fixture(scope="session")
def openshift_dir(shared_dir: Path) -> Path:
    return shared_dir / "data" / "runbooks" / "openshift"


@pytest.fixture(scope="session")
def openshift_kb(
    tmp_path_factory: pytest.TempPathFactory, catalog: Catalog, openshift_dir: Path
) -> Iterator[tuple[KnowledgeBase, object]]:
    """The openshift corpus ingested once per session (fake embedder: structure, not quality)."""
    kb = open_test_kb(tmp_path_factory.mktemp("openshift-kb"), catalog)
    report = kb.ingest([openshift_dir])
    yield kb, report
    kb.close()


@pytest.fixture(scope="session")
def shipped_kb(
    tmp_path_factory: pytest.TempPathFactory, catalog: Catalog, repo_root: Path
) -> Iterator[tuple[KnowledgeBase, object]]:
    """knowledge/ ingested once per session (fake embedder)."""
    if not any((repo_root / "knowledge").glob("*.md")):
        pytest.skip("knowledge/ has no runbooks yet")
    kb = open_test_kb(tmp_path_factory.mktemp("shipped-kb"), catalog)
    report = kb.ingest([repo_root / "knowledge"])
    yield kb, report
    kb.close()
