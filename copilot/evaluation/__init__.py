"""Offline evals: score a planner's proposed tool calls against expected calls.

    dataset.load_cases(path, catalog)        JSONL / YAML / directory -> [EvalCase]
    scoring.score_case(case, calls, catalog) the contract's pass rules -> CaseScore
    runner.run_eval(cases, suggester, ...)   pydantic-evals drives the loop -> EvalReport
    report_json / report_html                the JSON and self-contained HTML reports
    compare.compare_reports(a, b)            regressions and improvements, case by case
    feedback.actions_to_cases(actions)       human verdicts -> cases for review
"""

from copilot.evaluation.cases import CallPattern, EvalCase
from copilot.evaluation.compare import Comparison, compare_reports, format_comparison
from copilot.evaluation.dataset import load_cases, parse_case
from copilot.evaluation.feedback import FeedbackContext, action_to_case, actions_to_cases, case_to_json
from copilot.evaluation.matching import match_arg, match_args
from copilot.evaluation.metrics import RunMetrics, TagStats
from copilot.evaluation.report_html import render_html, write_html
from copilot.evaluation.report_json import CaseResult, EvalReport, ProposedRecord, read_report, write_report
from copilot.evaluation.runner import Suggester, ToolCallScorer, run_eval, to_pydantic_dataset
from copilot.evaluation.scoring import CaseScore, score_case

__all__ = [
    "CallPattern", "CaseResult", "CaseScore", "Comparison", "EvalCase", "EvalReport", "FeedbackContext",
    "ProposedRecord", "RunMetrics", "Suggester", "TagStats", "ToolCallScorer", "action_to_case",
    "actions_to_cases", "case_to_json", "compare_reports", "format_comparison", "load_cases", "match_arg",
    "match_args", "parse_case", "read_report", "render_html", "run_eval", "score_case", "to_pydantic_dataset",
    "write_html", "write_report",
]
