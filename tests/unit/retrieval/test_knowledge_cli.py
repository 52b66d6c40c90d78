"""`copilot knowledge ingest | search | show` end to end on a tiny corpus (real model, temp home)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from copilot.cli import app

RUNBOOK = """---
alerts: [DiskAlmostFull]
services: [storage]
steps:
  - {tool: describe_node, phase: diagnose, args: {node: $NODE}}
---
# Disk almost full

## Meaning

A node's root filesystem is nearly out of space.

## Diagnosis

```console
$ kubectl describe node $NODE
```
"""


@pytest.fixture()
def env(tmp_path: Path, copilot_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shipped = tmp_path / "shipped"
    shipped.mkdir()
    (shipped / "disk.md").write_text(RUNBOOK)
    monkeypatch.setenv("COPILOT_KNOWLEDGE_DIR", str(shipped))
    monkeypatch.delenv("COPILOT_CHROMA_URL", raising=False)
    corpus = tmp_path / "team"
    corpus.mkdir()
    cert = "# CertExpiringSoon\n\n## Meaning\n\nA TLS certificate expires.\n"
    (corpus / "CertExpiringSoon.md").write_text(cert)
    (corpus / "Broken.md").write_bytes(b"# Bad \xff bytes\n")
    return corpus


def test_ingest_search_show(env: Path) -> None:
    runner = CliRunner()
    ingested = runner.invoke(app, ["knowledge", "ingest", str(env)])
    assert ingested.exit_code == 0, ingested.output
    assert "files: 2" in ingested.output and "skipped: 1" in ingested.output
    assert "Broken.md: not UTF-8" in ingested.output

    found = runner.invoke(app, ["knowledge", "search", "certificate about to expire", "--k", "2", "--json"])
    assert found.exit_code == 0, found.output
    hits = json.loads(found.output)
    assert hits[0]["doc_id"] == "CertExpiringSoon" and hits[0]["source_path"] == "CertExpiringSoon.md"
    assert set(hits[0]) >= {"doc_id", "source_path", "title", "section", "score", "text", "candidate_calls"}
    assert hits == sorted(hits, key=lambda h: -h["score"])

    disk = runner.invoke(app, ["knowledge", "search", "root filesystem nearly full", "--json", "--k", "5"])
    # the shipped folder (COPILOT_KNOWLEDGE_DIR) is ingested when the knowledge base opens
    diagnosis = [h for h in json.loads(disk.output) if h["section"] == "Diagnosis"][0]
    assert diagnosis["candidate_calls"][0]["tool"] == "describe_node"

    shown = runner.invoke(app, ["knowledge", "show", "disk", "--json"])
    assert shown.exit_code == 0, shown.output
    doc = json.loads(shown.output)
    assert doc["alert_names"] == ["DiskAlmostFull"] and doc["steps"][0]["tool"] == "describe_node"
    missing = runner.invoke(app, ["knowledge", "show", "nope"])
    assert missing.exit_code == 2 and "no runbook 'nope'" in missing.output


def test_ingest_missing_folder_is_a_clear_error(env: Path) -> None:
    result = CliRunner().invoke(app, ["knowledge", "ingest", str(env / "missing")])
    assert result.exit_code == 2
    assert "not a folder" in result.output
