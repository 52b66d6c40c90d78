"""Shared fixtures. Tests never reach a model or the network."""

from __future__ import annotations

from pathlib import Path

import pydantic_ai.models
import pytest

from copilot.catalog import Catalog, load_catalog

pydantic_ai.models.ALLOW_MODEL_REQUESTS = False

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.skip("../shared is not beside the checkout")
    return SHARED


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return load_catalog(REPO / "tools")


@pytest.fixture()
def copilot_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An isolated COPILOT_HOME for one test."""
    home = tmp_path / "home"
    monkeypatch.setenv("COPILOT_HOME", str(home))
    return home
