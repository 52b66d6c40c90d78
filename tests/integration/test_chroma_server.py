"""Server mode: the same KnowledgeBase code against a real `chroma run` on 127.0.0.1."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from copilot.catalog import Catalog
from copilot.errors import UpstreamError
from copilot.retrieval.chroma_store import ChromaStore
from copilot.settings import Settings
from tests.unit.retrieval.kb_helpers import open_test_kb

pytestmark = pytest.mark.chroma_server
CHROMA = Path(sys.executable).parent / "chroma"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not CHROMA.exists():
        pytest.skip("the `chroma` binary is not installed in this venv")
    port = _free_port()
    data = tmp_path_factory.mktemp("chroma-server")
    log = (data / "server.log").open("w")
    process = subprocess.Popen(
        [str(CHROMA), "run", "--path", str(data / "db"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/api/v2/heartbeat", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"chroma run did not start: {(data / 'server.log').read_text()[-2000:]}")
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


RUNBOOK = (
    "# {name}\n\n## Meaning\n\nThe {name} alert fires when {what}.\n\n## Diagnosis\n\n"
    "```console\n$ kubectl -n $NAMESPACE describe pod $POD\n```\n"
)


def test_ingest_search_reopen_and_delete_through_the_server(
    chroma_url: str, tmp_path: Path, catalog: Catalog
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name, what in (
        ("DiskAlmostFull", "a volume is nearly full"),
        ("CertExpiringSoon", "a TLS cert expires"),
        ("QueueBacklogGrowing", "consumers fall behind the queue"),
    ):
        (corpus / f"{name}.md").write_text(RUNBOOK.format(name=name, what=what))
    kb = open_test_kb(tmp_path / "node-a", catalog, url=chroma_url)
    report = kb.ingest([corpus])
    assert (report.added, report.skipped) == (3, [])
    hits = kb.search("tls cert expires", k=2)
    assert hits[0].doc_id == "CertExpiringSoon"
    kb.close()

    other = open_test_kb(tmp_path / "node-b", catalog, url=chroma_url)  # another app node, same server
    assert [d.doc_id for d in other.documents()] == [
        "CertExpiringSoon",
        "DiskAlmostFull",
        "QueueBacklogGrowing",
    ]
    diagnosis = other.get_document("DiskAlmostFull").chunks[1]  # type: ignore[union-attr]
    assert [c.tool for c in diagnosis.candidate_calls] == ["describe_pod"]
    assert other.ingest([corpus]).unchanged == 3
    (corpus / "QueueBacklogGrowing.md").unlink()
    assert other.ingest([corpus]).removed == 1
    assert other.get_document("QueueBacklogGrowing") is None
    assert all(h.doc_id != "QueueBacklogGrowing" for h in other.search("queue consumers fall behind", k=5))
    other.close()


def test_unreachable_server_is_a_clear_upstream_error(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, chroma_url=f"http://127.0.0.1:{_free_port()}")
    with pytest.raises(UpstreamError, match="not reachable"):
        ChromaStore(settings)
