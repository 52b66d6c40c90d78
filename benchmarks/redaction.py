"""Redaction throughput and false-positive figures.

    .venv/bin/python benchmarks/redaction.py [SHARED_DIR]

Prints lines/second of `redact` over real ops text (the openshift runbooks and the kube-prometheus
rules in ../shared/data) and over lines with planted secrets, per-call p50/p99, and the share of real
ops lines that redaction changed (a changed line there is a false positive or an example credential).
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from pathlib import Path

from copilot.redaction import redact

REPO = Path(__file__).resolve().parent.parent


def _ops_lines(shared: Path) -> list[str]:
    lines: list[str] = []
    for pattern in ("data/runbooks/openshift/**/*.md", "data/alerts/kube-prometheus-rules/*.yaml"):
        for path in sorted(shared.glob(pattern)):
            lines += path.read_text(encoding="utf-8", errors="replace").splitlines()
    return lines


def _secret_lines(count: int) -> list[str]:
    sys.path.insert(0, str(REPO))
    from tests.unit.test_redaction import SECRET_KINDS

    rng = random.Random(7)
    kinds = sorted(SECRET_KINDS)
    out = []
    for i in range(count):
        make, templates = SECRET_KINDS[kinds[i % len(kinds)]]
        out.append(templates[i % len(templates)].format(s=make(rng)))
    return out


def _throughput(label: str, lines: list[str]) -> None:
    timings = []
    start = time.perf_counter()
    for line in lines:
        t0 = time.perf_counter_ns()
        redact(line)
        timings.append(time.perf_counter_ns() - t0)
    elapsed = time.perf_counter() - start
    timings.sort()
    p99 = timings[int(len(timings) * 0.99)] / 1000
    print(
        f"{label:<28} lines={len(lines):>6}  lines/s={len(lines) / elapsed:>9,.0f}  "
        f"p50={statistics.median(timings) / 1000:6.1f}us  p99={p99:7.1f}us"
    )


def main() -> None:
    shared = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO.parent / "shared"
    t0 = time.perf_counter()
    redact("warm up: loads detect-secrets once")
    print(f"first call (lazy detect-secrets load): {(time.perf_counter() - t0) * 1000:.0f} ms")
    ops = _ops_lines(shared)
    _throughput("real ops text", ops)
    _throughput("lines with planted secrets", _secret_lines(5000))
    changed = [line for line in ops if redact(line) != line]
    print(f"ops lines changed: {len(changed)}/{len(ops)} = {len(changed) / max(len(ops), 1):.5f}")
    for line in changed[:10]:
        print(f"  {line.strip()[:100]!r} -> {redact(line).strip()[:100]!r}")


if __name__ == "__main__":
    main()
