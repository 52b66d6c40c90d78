"""`ask` latency for the runbook planner, in-process, retrieval included.

    .venv/bin/python benchmarks/ask.py [--requests 100] [--home DIR]

Builds the suggester once over the shipped knowledge/ (ingest timed separately), then times
``Suggester.suggest`` for N requests: context assembly (redaction, entities, hybrid retrieval),
the runbook planner and the guard. Prints p50/p95/max. Goal: p95 <= 300 ms.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from copilot.compose import build_suggester  # noqa: E402
from copilot.domain import Alert, PlanRequest  # noqa: E402
from copilot.settings import load_settings  # noqa: E402

CHAT = [
    "checkout is throwing 5xx since the deploy in shop",
    "pods stuck in Pending in namespace batch",
    "api-7f9c8d6b5-x2x4q keeps crashlooping in shop",
    "node-7 went NotReady, what now?",
    "replica lag on the orders cluster is climbing",
    "the cert on the edge proxy expires tomorrow",
    "someone is hammering /login from a handful of IPs",
    "disk almost full on the postgres volume data-pg-0",
    "stale assets on the CDN after the release",
    "help",
    "what now?",
    "silence the Watchdog alert for a month",
]
ALERTS = [
    {"alertname": "KubePodCrashLooping", "namespace": "shop", "pod": "api-7f9c8d6b5-x2x4q"},
    {"alertname": "KubeNodeNotReady", "node": "node-7"},
    {"alertname": "HighHTTP5xxRate", "service": "checkout", "namespace": "shop"},
    {"alertname": "KubePersistentVolumeFillingUp", "namespace": "db", "persistentvolumeclaim": "data-pg-0"},
    {"alertname": "Watchdog", "severity": "none"},
]


def requests(count: int) -> list[PlanRequest]:
    """Chat requests, a third of them with an alert, every seventh an alert with no text."""
    out = []
    for index in range(count):
        alert = Alert(labels=ALERTS[index % len(ALERTS)]) if index % 3 == 0 else None
        text = "" if alert is not None and index % 7 == 0 else CHAT[index % len(CHAT)]
        telemetry = {'http_5xx_ratio{service="checkout"}': 0.1 + index / 1000, "nodes_not_ready": ["node-7"]}
        out.append(PlanRequest(text=text, alert=alert, telemetry=telemetry))
    return out


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--home", type=Path, default=None, help="COPILOT_HOME to use (default: a temp dir)")
    args = parser.parse_args()
    home = args.home or Path(tempfile.mkdtemp(prefix="copilot-bench-"))
    settings = load_settings().model_copy(update={"home": home})

    started = time.perf_counter()
    with build_suggester(settings, planner="runbook") as suggester:
        setup_s = time.perf_counter() - started
        batch = requests(args.requests)
        first_started = time.perf_counter()
        suggester.suggest(batch[0])
        first_ms = (time.perf_counter() - first_started) * 1000
        latencies = []
        calls = 0
        for request in batch:
            t0 = time.perf_counter()
            result = suggester.suggest(request)
            latencies.append((time.perf_counter() - t0) * 1000)
            calls += len(result.calls)
    print(f"knowledge docs digest: {suggester.knowledge_digest[:12]}  setup (open + ingest): {setup_s:.2f} s")
    print(f"first request (cold): {first_ms:.1f} ms")
    print(f"requests: {len(latencies)}  proposed calls: {calls}")
    print(f"p50: {statistics.median(latencies):.1f} ms")
    print(f"p95: {percentile(latencies, 95):.1f} ms")
    print(f"max: {max(latencies):.1f} ms  mean: {statistics.fmean(latencies):.1f} ms")
    print(f"goal p95 <= 300 ms: {'met' if percentile(latencies, 95) <= 300 else 'NOT met'}")


if __name__ == "__main__":
    main()
