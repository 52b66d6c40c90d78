"""The runner on the contract's example cases, the JSON report's fields, the HTML report."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from copilot.catalog import Catalog
from copilot.domain import ToolCall, Usage
from copilot.evaluation.cases import EvalCase
from copilot.evaluation.dataset import load_cases
from copilot.evaluation.metrics import percentile
from copilot.evaluation.report_html import render_html
from copilot.evaluation.report_json import EvalReport, read_report, write_report
from copilot.evaluation.runner import run_eval
from tests.unit.evaluation.suggesters import EXAMPLE_SCRIPT, ScriptedSuggester


@pytest.fixture()
def examples(catalog: Catalog, shared_dir: Path) -> list[EvalCase]:
    return load_cases(shared_dir / "contracts" / "example-cases.jsonl", catalog)


@pytest.fixture()
def report(examples: list[EvalCase], catalog: Catalog) -> EvalReport:
    return run_eval(examples, ScriptedSuggester(EXAMPLE_SCRIPT), catalog, dataset_label="examples")


def test_examples_scored(report: EvalReport) -> None:
    assert [(r.id, r.passed, r.unsafe) for r in report.results] == [
        ("EX-001", True, False),
        ("EX-002", True, False),
        ("EX-003", False, True),
    ]
    assert report.cases == 3
    assert report.accuracy == pytest.approx(2 / 3)
    assert report.unsafe_rate == pytest.approx(1 / 3)
    assert report.by_tag["restraint"].passed == 0
    assert report.by_tag["deploy"].accuracy == 1.0


def test_metrics(report: EvalReport) -> None:
    # get_logs and rollback are expected; silence_alert (forbidden in EX-003) is not relevant
    assert report.tool_precision == pytest.approx(2 / 3)
    assert report.tool_recall == 1.0
    assert report.argument_accuracy == 1.0
    assert report.grounded_rate == pytest.approx(2 / 3)
    assert report.restraint_rate == pytest.approx(1 / 2)  # EX-001 held back, EX-003 did not
    assert report.latency_p50_ms is not None and report.latency_p95_ms is not None
    assert report.llm_requests is None and report.cost_usd is None  # no LLM used


def test_precision_counts_only_expected_or_acceptable_tools(
    examples: list[EvalCase], catalog: Catalog
) -> None:
    script = dict(EXAMPLE_SCRIPT)
    script["KubePodNotReady"] = [
        *script["KubePodNotReady"],
        ToolCall(tool="describe_node", args={"node": "n"}),
    ]
    result = run_eval(examples, ScriptedSuggester(script), catalog)
    assert result.tool_precision == pytest.approx(2 / 4)  # describe_node and silence_alert are not relevant
    assert result.results[0].passed  # but read-only extras do not fail the case


def test_tokens_and_cost_when_an_llm_was_used(examples: list[EvalCase], catalog: Catalog) -> None:
    usage = Usage(input_tokens=100, output_tokens=20, requests=1, cost_usd=0.001)
    result = run_eval(examples, ScriptedSuggester(EXAMPLE_SCRIPT, usage=usage), catalog)
    assert (result.llm_requests, result.input_tokens, result.output_tokens) == (3, 300, 60)
    assert result.cost_usd == pytest.approx(0.003)


def test_a_suggester_error_fails_the_case_and_the_run_goes_on(catalog: Catalog) -> None:
    cases = [EvalCase(id="a", request="boom", expected=[]), EvalCase(id="b", request="quiet", expected=[])]
    seen: list[str] = []
    result = run_eval(cases, ScriptedSuggester({}), catalog, on_case=lambda c: seen.append(c.id))
    assert seen == ["a", "b"]  # progress advances for every case, in order
    assert [r.passed for r in result.results] == [False, True]
    assert "planner exploded" in result.results[0].reasons[0]
    assert result.results[0].error is not None
    assert result.restraint_rate == 1.0  # the crashed case is not counted as restraint


def test_cases_run_in_order_on_the_calling_thread(examples: list[EvalCase], catalog: Catalog) -> None:
    import threading

    threads: set[int] = set()

    class ThreadRecorder(ScriptedSuggester):
        def suggest(self, request):  # type: ignore[no-untyped-def]
            threads.add(threading.get_ident())
            return super().suggest(request)

    suggester = ThreadRecorder(EXAMPLE_SCRIPT)
    run_eval(examples, suggester, catalog)
    assert threads == {threading.get_ident()}
    assert [r.text for r in suggester.requests] == [c.request for c in examples]


def test_json_report_fields(report: EvalReport, tmp_path: Path) -> None:
    path = tmp_path / "out" / "report.json"
    write_report(report, path)
    data = json.loads(path.read_text())
    for key in (
        "accuracy",
        "unsafe_rate",
        "cases",
        "planner",
        "model",
        "prompt_hash",
        "knowledge_digest",
        "tool_precision",
        "tool_recall",
        "argument_accuracy",
        "grounded_rate",
        "restraint_rate",
        "latency_p50_ms",
        "latency_p95_ms",
        "input_tokens",
        "output_tokens",
        "cost_usd",
        "by_tag",
        "results",
    ):
        assert key in data, key
    assert data["cases"] == 3 and data["planner"] == "scripted"
    assert (data["prompt_hash"], data["knowledge_digest"]) == ("p-123", "k-456")
    first = data["results"][0]
    assert {"id", "passed", "reasons", "proposed", "latency_ms"} <= set(first)
    assert first["proposed"][0]["tool"] == "get_logs"
    assert first["proposed"][0]["citations"] == ["knowledge/checkout.md § Rollback (L12-20)"]
    assert first["citations"] == ["knowledge/checkout.md § Rollback (L12-20)"]
    assert read_report(path) == report


def test_html_report_is_self_contained(report: EvalReport) -> None:
    page = render_html(report)
    assert page.startswith("<!doctype html>")
    assert not re.search(r"""(src|href|action)\s*=\s*["']?\s*(https?:)?//""", page, re.I)
    assert "url(" not in page and "@import" not in page and "<link" not in page and "<script" not in page
    assert "<svg" in page and "<style>" in page
    assert "EX-003" in page and "silence_alert" in page  # the failed case with what was proposed
    assert "forbidden tool proposed" in page  # its reasons
    assert "EX-001" not in page.split("Failed cases")[1]  # passed cases are not in the table


def test_html_escapes_case_text(catalog: Catalog) -> None:
    cases = [
        EvalCase(
            id="<script>x</script>",
            request="<img src=http://evil/x.png>",
            expected=[{"tool": "get_logs", "args": {"namespace": "shop"}}],
        )
    ]
    page = render_html(run_eval(cases, ScriptedSuggester({}), catalog))
    assert "<script>x" not in page and "<img" not in page
    assert "&lt;img src=http://evil/x.png&gt;" in page


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [([], 50, None), ([5.0], 95, 5.0), ([1.0, 2.0, 3.0, 4.0], 50, 2.5), ([1.0, 2.0, 3.0, 4.0, 5.0], 95, 4.8)],
)
def test_percentile(values: list[float], q: float, expected: float | None) -> None:
    assert percentile(values, q) == (pytest.approx(expected) if expected is not None else None)
