"""Retrieval benchmark on the openshift runbook corpus (../shared/data/runbooks/openshift).

Query sets:
- alert queries: summary + description of each rule in ../shared/data/alerts/alerts.json, with label
  templates ({{ $labels.x }}) and the alert name removed; the expected runbook is the one for that
  alert (alerts without a runbook in the corpus are skipped and listed);
- chat queries: benchmarks/data/chat_queries.jsonl (colloquial, written by this project);
- blind chat queries: benchmarks/data/chat_queries_fresh.jsonl (set 1) and chat_queries_blind2..5
  .jsonl, 40 each, written by separate authors who saw no rankings; sibling look-alikes (read vs
  write, one replica vs all) are almost all of set 1, half of set 2 and a third of sets 3 to 5.
  The leader rule was changed looking at sets 1 and 2, and the dense runbook score was chosen on
  the even lines of all sets (see the README), so the odd lines are the held-out half here too.

Recall is over runbooks: a query's ranking is the order in which distinct runbooks first appear
among the top 50 chunks. It prints recall@1/@5 for BM25 alone (the lexical rankers), dense alone
(the dense rankers) and hybrid (all fused), the alert set with and without ``alert_name=``,
search latency, ingest times and a 50,000-chunk scale run. It also prints hybrid ranking with
weighted reciprocal-rank fusion (``Tuning(fusion="rrf")``) beside the default z-score fusion, and
the issue's difficulty yardstick, a naive whole-runbook BM25, on each query set.

Guard against overfitting: each query set is split by line parity. Queries at even positions
(0, 2, ...) are the tuning half, the only ones the fusion weights were chosen on; odd positions are
the held-out half. Figures are printed for both halves and for the whole set.

    .venv/bin/python benchmarks/retrieval.py [--scale 50000] [--no-scale] [--misses]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from copilot.catalog import load_catalog  # noqa: E402
from copilot.retrieval import KnowledgeBase  # noqa: E402
from copilot.retrieval.bm25 import BM25Index  # noqa: E402
from copilot.retrieval.chroma_store import ChromaStore, StoredDoc  # noqa: E402
from copilot.retrieval.embeddings import EmbeddingCache  # noqa: E402
from copilot.retrieval.hybrid import embedding_text  # noqa: E402
from copilot.settings import Settings  # noqa: E402

SHARED = REPO.parent / "shared" / "data"
CORPUS = SHARED / "runbooks" / "openshift"
MODES = ("bm25", "dense", "hybrid")
Query = tuple[str, frozenset[str], str]


def open_kb(home: Path, cache_path: Path) -> KnowledgeBase:
    settings = Settings(home=home)
    return KnowledgeBase(ChromaStore(settings), load_catalog(REPO / "tools"), EmbeddingCache(cache_path))


def alert_queries(kb: KnowledgeBase) -> tuple[list[tuple[str, frozenset[str], str]], list[str]]:
    """[(query, expected source paths, alert name)], and the alerts skipped for want of a runbook.

    An alert may have several runbooks in the corpus (KubeAPIDown sits under two operators); any
    runbook that answers the alert counts as a hit."""
    by_alert: dict[str, set[str]] = {}
    for doc in kb.documents():
        for name in doc.alert_names:
            by_alert.setdefault(name.casefold(), set()).add(doc.source_path)
    queries, skipped = [], []
    for rule in json.loads((SHARED / "alerts" / "alerts.json").read_text()):
        expected = frozenset(by_alert.get(rule["name"].casefold(), ()))
        if not expected:
            skipped.append(rule["name"])
            continue
        text = f"{rule.get('summary', '')} {rule.get('description', '')}"
        text = re.sub(r"\{\{.*?\}\}", " ", text)
        text = re.sub(re.escape(rule["name"]), " ", text, flags=re.IGNORECASE)
        queries.append((" ".join(text.split()), expected, rule["name"]))
    return queries, skipped


def chat_queries(name: str = "chat_queries.jsonl") -> list[tuple[str, frozenset[str], str]]:
    path = REPO / "benchmarks" / "data" / name
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [(row["query"], frozenset([row["expected"]]), "") for row in rows]


def doc_rank(
    kb: KnowledgeBase, query: str, expected: frozenset[str], mode: str, alert: str | None
) -> int | None:
    hits = kb.search_ranked(query, 50, mode=mode, alert_name=alert)
    seen: list[str] = []
    for hit in hits:
        if hit.source_path not in seen:
            seen.append(hit.source_path)
    ranks = [seen.index(path) + 1 for path in expected if path in seen]
    return min(ranks) if ranks else None


def recall_table(
    kb: KnowledgeBase, queries: list[tuple[str, str, str]], *, with_alert: bool
) -> dict[str, tuple]:
    out = {}
    for mode in MODES:
        ranks = [doc_rank(kb, q, exp, mode, name if with_alert else None) for q, exp, name in queries]
        r1 = sum(1 for r in ranks if r == 1) / len(ranks)
        r5 = sum(1 for r in ranks if r is not None and r <= 5) / len(ranks)
        out[mode] = (r1, r5, [queries[i] for i, r in enumerate(ranks) if r != 1])
    return out


def rrf_row(kb: KnowledgeBase, queries: list[Query]) -> str:
    """Hybrid recall with weighted reciprocal-rank fusion instead of z-scores (same rankers)."""
    default = kb.tuning
    kb.tuning = replace(default, fusion="rrf")
    try:
        ranks = [doc_rank(kb, q, exp, "hybrid", None) for q, exp, _ in queries]
    finally:
        kb.tuning = default
    r1 = sum(1 for r in ranks if r == 1) / len(ranks)
    r5 = sum(1 for r in ranks if r is not None and r <= 5) / len(ranks)
    return f"r@1 {r1:.3f} r@5 {r5:.3f}"


class NaiveBM25:
    """The issue's yardstick: plain Okapi BM25 over whole runbook files, lowercase word tokens, no
    stemming, stop words, field weights or fusion. It says how hard a query set is."""

    def __init__(self, corpus: Path, paths: list[str]) -> None:
        self.paths = paths
        self.index = BM25Index([self.tokens((corpus / p).read_text(errors="replace")) for p in paths])

    @staticmethod
    def tokens(text: str) -> list[str]:
        return re.findall(r"[a-z0-9]+", text.lower())

    def recall(self, queries: list[Query]) -> tuple[float, float]:
        r1 = r5 = 0
        for query, expected, _ in queries:
            scores = self.index.scores(self.tokens(query))
            order = [self.paths[i] for i in np.argsort(-scores, kind="stable")[:5]]
            r1 += order[0] in expected
            r5 += any(path in expected for path in order)
        return r1 / len(queries), r5 / len(queries)


def print_recall(title: str, table: dict[str, tuple]) -> None:
    print(f"  {title:<44} " + "  ".join(f"{m:>6} r@1 {table[m][0]:.3f} r@5 {table[m][1]:.3f}" for m in MODES))



def halves(queries: list[Query]) -> dict[str, list[Query]]:
    """Tuning half (even positions), held-out half (odd positions), and all."""
    return {"tuning": queries[0::2], "held-out": queries[1::2], "all": queries}


def latencies(kb: KnowledgeBase, queries: list[str]) -> tuple[float, float]:
    for query in queries[:5]:
        kb.search(query)
    times = []
    for query in queries:
        start = time.perf_counter()
        kb.search(query, 5)
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[int(0.95 * (len(times) - 1))]


def rss_mb() -> tuple[float, float]:
    current = 0.0
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            current = int(line.split()[1]) / 1024
    return current, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def scale_run(kb: KnowledgeBase, cache: EmbeddingCache, target: int, home: Path, queries: list[str]) -> None:
    docs = kb.documents()
    base = [c for d in docs for c in d.chunks]
    vectors = cache.embed([embedding_text(c) for c in base])
    big = open_kb(home, home / "unused-cache.sqlite")
    rng = np.random.default_rng(7)
    started, total, rep = time.perf_counter(), 0, 0
    while total < target:
        copies = []
        for doc in docs:
            doc_id = f"{doc.doc_id}~r{rep}"
            chunks = tuple(
                c.model_copy(update={"doc_id": doc_id, "chunk_id": f"{doc_id}#{i}"})
                for i, c in enumerate(doc.chunks)
            )
            copies.append(
                StoredDoc(doc.model_copy(update={"doc_id": doc_id, "chunks": chunks}), "scale", str(rep))
            )
        noisy = vectors + rng.normal(0, 0.02, vectors.shape).astype(np.float32)
        big.add_embedded(copies, noisy / np.linalg.norm(noisy, axis=1, keepdims=True))
        total += len(base)
        rep += 1
    loaded = time.perf_counter() - started
    start = time.perf_counter()
    big.search("warm up")
    build = time.perf_counter() - start
    p50, p95 = latencies(big, queries)
    current, peak = rss_mb()
    print(
        f"  scale: {total} chunks ({rep} copies of the corpus) loaded in {loaded:.1f} s, "
        f"index build {build:.1f} s"
    )
    print(f"  scale search latency: p50 {p50:.1f} ms  p95 {p95:.1f} ms   (goal p95 <= 60 ms)")
    print(f"  memory: RSS {current:.0f} MB now, peak {peak:.0f} MB (whole process, both stores)")
    big.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=50_000, help="chunks for the scale run")
    parser.add_argument("--no-scale", action="store_true", help="skip the scale run")
    parser.add_argument("--misses", action="store_true", help="print the hybrid misses")
    parser.add_argument("--embedding-cache", type=Path, default=None,
                        help="reuse this embedding cache (quick reruns; the first ingest is then not fresh)")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, load average at start {os.getloadavg()[0]:.1f} "
          "(timings are wall-clock; other processes on the machine inflate them)")
    with tempfile.TemporaryDirectory(prefix="bench-retrieval-") as tmp:
        home = Path(tmp)
        cache_path = args.embedding_cache or home / "cache.sqlite"
        kb = open_kb(home / "a", cache_path)
        report = kb.ingest([CORPUS])
        fresh = report.seconds
        again = kb.ingest([CORPUS])
        kb.close()
        start = time.perf_counter()
        kb = open_kb(home / "b", cache_path)  # a throwaway store, warm embedding cache
        warm = kb.ingest([CORPUS]).seconds
        reopen = time.perf_counter() - start
        print(f"corpus: {report.files} files, {report.chunks} chunks, {len(report.skipped)} skipped")
        if args.embedding_cache:
            print(f"ingest: embedding cache {cache_path} reused, so the first ingest is not a fresh one")
        print(
            f"ingest: fresh {fresh:.1f} s (goal < 120 s); "
            f"re-ingest unchanged {again.seconds:.2f} s (goal < 5 s); "
            f"new store with warm embedding cache {warm:.1f} s (open+ingest {reopen:.1f} s)"
        )
        alerts, skipped = alert_queries(kb)
        chats = chat_queries()
        fresh = chat_queries("chat_queries_fresh.jsonl")
        blind2 = chat_queries("chat_queries_blind2.jsonl")
        blind_sets = [fresh, blind2] + [chat_queries(f"chat_queries_blind{n}.jsonl") for n in (3, 4, 5)]
        blind = [q for part in blind_sets for q in part]
        print(
            f"alert queries: {len(alerts)} (skipped {len(skipped)} alerts with no runbook in the corpus: "
            f"{', '.join(skipped[:8])}{', ...' if len(skipped) > 8 else ''})"
        )
        print(f"chat queries: {len(chats)}; blind chat queries: {len(blind)} in {len(blind_sets)} sets")
        print("recall (by runbook):")
        tables = {}
        for part, subset in halves(alerts).items():
            title = f"alert, no alert_name, {part} ({len(subset)})"
            tables[title] = recall_table(kb, subset, with_alert=False)
        tables[f"alert, alert_name= given, all ({len(alerts)})"] = recall_table(kb, alerts, with_alert=True)
        for part, subset in halves(chats).items():
            tables[f"chat, {part} ({len(subset)})"] = recall_table(kb, subset, with_alert=False)
        for number, part in enumerate(blind_sets, start=1):
            tables[f"chat, blind set {number} ({len(part)})"] = recall_table(kb, part, with_alert=False)
        for half, lines in (("tuning", 0), ("held-out", 1)):
            subset = [q for part in blind_sets for q in part[lines::2]]
            tables[f"chat, blind, {half} half ({len(subset)})"] = recall_table(kb, subset, with_alert=False)
        tables[f"chat, blind, all ({len(blind)})"] = recall_table(kb, blind, with_alert=False)
        every_chat = chats + blind
        tables[f"chat + blind, all ({len(every_chat)})"] = recall_table(kb, every_chat, with_alert=False)
        for title, table in tables.items():
            print_recall(title, table)
        print("  goals: alert r@1 >= 0.95 r@5 >= 0.99; chat r@1 >= 0.80 r@5 >= 0.95; hybrid ahead of both")
        naive = NaiveBM25(CORPUS, sorted(doc.source_path for doc in kb.documents()))
        print("difficulty: naive whole-runbook BM25 (the issue's yardstick: about 0.85 / 0.98 on alerts, "
              "0.55 / 0.78 on chat):")
        for title, subset in ((f"alert, all ({len(alerts)})", alerts), (f"chat, all ({len(chats)})", chats),
                              (f"chat, blind, all ({len(blind)})", blind),
                              (f"chat + blind ({len(every_chat)})", every_chat)):
            r1, r5 = naive.recall(subset)
            print(f"  {title:<44}  naive r@1 {r1:.3f} r@5 {r5:.3f}")
        print("hybrid with reciprocal-rank fusion (k=60) instead of z-scores:")
        for title, subset in ((f"alert, all ({len(alerts)})", alerts), (f"chat, all ({len(chats)})", chats),
                              (f"chat, blind, all ({len(blind)})", blind)):
            print(f"  {title:<44}  rrf {rrf_row(kb, subset)}")
        if args.misses:
            for title, table in tables.items():
                if not title.endswith(")") or " all " not in title:
                    continue
                for query, expected, _ in table["hybrid"][2]:
                    print(f"  miss [{title}] {', '.join(sorted(expected))}: {query[:110]}")
        all_queries = [q for q, _, _ in alerts + chats + blind]
        p50, p95 = latencies(kb, all_queries)
        print(
            f"search latency (hybrid, k=5, {len(all_queries)} queries): p50 {p50:.1f} ms  p95 {p95:.1f} ms "
            "(goal p95 <= 30 ms)"
        )
        if not args.no_scale:
            scale_run(kb, EmbeddingCache(cache_path), args.scale, home / "scale", all_queries)
        kb.close()


if __name__ == "__main__":
    main()
