"""A self-contained HTML eval report: inline CSS, an inline SVG bar chart by tag, and the failed cases.

Nothing is loaded from anywhere: no scripts, stylesheets, fonts or images by URL. Every value from
the dataset or the planner is HTML-escaped, so a case cannot inject markup into the report.
"""

from __future__ import annotations

import json
from html import escape
from pathlib import Path
from typing import Any

from copilot.evaluation.report_json import CaseResult, EvalReport, ProposedRecord

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:24px;color:#1d232a;background:#fff}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:28px 0 8px}
.meta{color:#5b6672;font-size:12px}.figs{display:flex;flex-wrap:wrap;gap:10px;margin:16px 0}
.fig{border:1px solid #d8dee4;border-radius:6px;padding:8px 12px;min-width:110px}
.fig b{display:block;font-size:20px}.fig span{color:#5b6672;font-size:12px}
.bad b{color:#b42318}table{border-collapse:collapse;width:100%;font-size:13px}
th,td{border:1px solid #d8dee4;padding:6px 8px;vertical-align:top;text-align:left}
th{background:#f3f5f7}code{font:12px ui-monospace,Menlo,monospace;white-space:pre-wrap;word-break:break-word}
ul{margin:0;padding-left:18px}.mut{color:#b42318;font-weight:600}.ok{color:#1a7f37}
"""


def render_html(report: EvalReport) -> str:
    """The whole report as one HTML document."""
    failed = [r for r in report.results if not r.passed]
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>copilot eval: {escape(report.dataset)}</title><style>{_CSS}</style></head><body>",
        f"<h1>copilot eval: {escape(report.dataset)}</h1>",
        f'<div class="meta">{_meta(report)}</div>',
        _figures(report),
        "<h2>Accuracy by tag</h2>",
        tag_chart(report),
        f"<h2>Failed cases ({len(failed)} of {report.cases})</h2>",
        _failed_table(failed) if failed else '<p class="ok">Every case passed.</p>',
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def write_html(report: EvalReport, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(report), encoding="utf-8")


def _meta(report: EvalReport) -> str:
    items = [
        f"planner {report.planner}",
        f"model {report.model or '-'}",
        f"prompt {report.prompt_hash or '-'}",
        f"knowledge {report.knowledge_digest or '-'}",
        f"started {report.started_at:%Y-%m-%d %H:%M:%S} UTC",
        f"{report.duration_s:.1f} s",
    ]
    return " · ".join(escape(item) for item in items)


def _fmt(value: float | int | None, kind: str = "ratio") -> str:
    if value is None:
        return "n/a"
    if kind == "ms":
        return f"{value:.0f} ms"
    if kind == "int":
        return f"{value:,}"
    if kind == "usd":
        return f"${value:.4f}"
    return f"{value:.3f}"


def _figures(report: EvalReport) -> str:
    figures: list[tuple[str, str, bool]] = [
        ("cases", str(report.cases), False),
        ("accuracy", _fmt(report.accuracy), False),
        ("unsafe rate", _fmt(report.unsafe_rate), report.unsafe_rate > 0),
        ("tool precision", _fmt(report.tool_precision), False),
        ("tool recall", _fmt(report.tool_recall), False),
        ("argument accuracy", _fmt(report.argument_accuracy), False),
        ("grounded rate", _fmt(report.grounded_rate), False),
        ("correct restraint", _fmt(report.restraint_rate), False),
        ("latency p50", _fmt(report.latency_p50_ms, "ms"), False),
        ("latency p95", _fmt(report.latency_p95_ms, "ms"), False),
    ]
    if report.llm_requests is not None:
        tokens = (report.input_tokens or 0) + (report.output_tokens or 0)
        figures += [("tokens", _fmt(tokens, "int"), False), ("cost", _fmt(report.cost_usd, "usd"), False)]
    cells = [
        f'<div class="fig{" bad" if bad else ""}"><b>{escape(value)}</b><span>{escape(label)}</span></div>'
        for label, value, bad in figures
    ]
    return '<div class="figs">' + "".join(cells) + "</div>"


def tag_chart(report: EvalReport, width: int = 720) -> str:
    """An inline SVG: one horizontal bar per tag (accuracy), with pass counts and unsafe counts."""
    row, label_w, bar_w = 22, 180, width - 180 - 130
    rows = list(report.by_tag.items())
    height = max(row * len(rows) + 10, 30)
    out = [f'<svg role="img" aria-label="accuracy by tag" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}">']
    for index, (tag, stats) in enumerate(rows):
        y = 5 + index * row
        filled = bar_w * stats.accuracy
        colour = "#1a7f37" if stats.accuracy >= 0.9 else "#bf8700" if stats.accuracy >= 0.7 else "#b42318"
        note = f"{stats.passed}/{stats.cases}" + (f" · {stats.unsafe} unsafe" if stats.unsafe else "")
        out += [
            f'<text x="{label_w - 6}" y="{y + 14}" text-anchor="end" font-size="12">{escape(tag)}</text>',
            f'<rect x="{label_w}" y="{y}" width="{bar_w}" height="{row - 6}" fill="#eef1f4"/>',
            f'<rect x="{label_w}" y="{y}" width="{filled:.1f}" height="{row - 6}" fill="{colour}">'
            f"<title>{escape(tag)}: {stats.accuracy:.3f}</title></rect>",
            f'<text x="{label_w + bar_w + 6}" y="{y + 14}" font-size="12">'
            f"{stats.accuracy:.2f} ({escape(note)})</text>",
        ]
    out.append("</svg>")
    return "".join(out)


def _failed_table(failed: list[CaseResult]) -> str:
    head = ("<tr><th>case</th><th>expected</th><th>proposed</th><th>reasons</th>"
            "<th>citations used</th></tr>")
    rows = [head]
    for result in failed:
        citations = result.citations or sorted({c for p in result.proposed for c in p.citations})
        rows.append(
            "<tr>"
            f"<td><b>{escape(result.id)}</b>{' <span class=mut>unsafe</span>' if result.unsafe else ''}"
            f"<br><small>{escape(', '.join(result.tags))}</small>"
            f"<br><code>{escape(result.request)}</code></td>"
            f"<td>{_call_list(result.expected)}</td>"
            f"<td>{_proposed_list(result.proposed)}{_dropped(result.dropped)}</td>"
            f"<td>{_items(result.reasons)}</td>"
            f"<td>{_items(citations) if citations else '<i>none</i>'}</td>"
            "</tr>"
        )
    return "<table>" + "".join(rows) + "</table>"


def _call_text(tool: str, args: dict[str, Any]) -> str:
    inner = ", ".join(f"{k}={json.dumps(v, default=str)}" for k, v in args.items())
    return f"{tool}({inner})"


def _call_list(calls: list[dict[str, Any]]) -> str:
    if not calls:
        return "<i>nothing mutating; diagnose or do nothing</i>"
    return _items([_call_text(c["tool"], c.get("args", {})) for c in calls], code=True)


def _proposed_list(proposed: list[ProposedRecord]) -> str:
    if not proposed:
        return "<i>no calls</i>"
    lines = []
    for p in proposed:
        tags = (" <span class=mut>mutating</span>" if p.mutating else "") + (
            f" <small>[{escape(p.outcome)}]</small>" if p.outcome else ""
        )
        lines.append(f"<li><code>{escape(_call_text(p.tool, p.args))}</code>{tags}</li>")
    return "<ul>" + "".join(lines) + "</ul>"


def _dropped(dropped: list[str]) -> str:
    return f"<small>dropped by the suggester:</small>{_items(dropped)}" if dropped else ""


def _items(items: list[str], code: bool = False) -> str:
    wrap = (lambda s: f"<code>{escape(s)}</code>") if code else escape
    return "<ul>" + "".join(f"<li>{wrap(item)}</li>" for item in items) + "</ul>"
