"""Loading datasets: JSONL, YAML, directories, and clear errors for bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from copilot.catalog import Catalog
from copilot.domain import Principal
from copilot.errors import UserInputError
from copilot.evaluation.dataset import load_cases

GOOD = {
    "id": "a-1",
    "request": "checkout 5xx",
    "expected": [{"tool": "get_logs", "args": {"namespace": "shop"}}],
}


def write_jsonl(path: Path, *rows: object) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def test_contract_examples_load(catalog: Catalog, shared_dir: Path) -> None:
    cases = load_cases(shared_dir / "contracts" / "example-cases.jsonl", catalog)
    assert [c.id for c in cases] == ["EX-001", "EX-002", "EX-003"]
    first = cases[0]
    assert first.alert is not None and first.alert.name == "KubePodNotReady"
    assert first.forbidden == ["restart_deployment", "scale_deployment", "drain_node"]
    assert cases[1].expected[0].args["to_revision"] == {"$any": [41, "41", None]}
    request = first.plan_request()
    assert request.text.startswith("KubePodNotReady")
    assert request.telemetry["readiness_probe_failures_15m"] == 42
    assert request.principal == Principal.oncall()  # the default principal


def test_yaml_and_directory(catalog: Catalog, tmp_path: Path) -> None:
    (tmp_path / "b.yaml").write_text(
        "- id: y-1\n  request: ''\n  principal: {name: ana, roles: [lead]}\n"
        "  alert: {labels: {alertname: Watchdog}}\n  expected: []\n  tags: [restraint]\n"
    )
    write_jsonl(tmp_path / "a.jsonl", GOOD, "", {**GOOD, "id": "a-2"})
    (tmp_path / "notes.md").write_text("ignored")
    cases = load_cases(tmp_path, catalog)
    assert [c.id for c in cases] == ["a-1", "a-2", "y-1"]  # files sorted, blank lines skipped
    assert cases[2].plan_request().principal.roles == frozenset({"lead"})


def test_unknown_keys_are_ignored_with_a_warning(
    catalog: Catalog, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    odd_call = {"tool": "get_logs", "args": {"namespace": "shop"}, "why": "first look"}
    path = write_jsonl(tmp_path / "d.jsonl", {**GOOD, "difficulty": "hard", "expected": [odd_call]})
    (case,) = load_cases(path, catalog)
    assert case.expected[0].args == {"namespace": "shop"}
    assert "difficulty" in caplog.text and "expected[0]: ignoring keys why" in caplog.text


def test_numeric_ids_become_text(catalog: Catalog, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "d.jsonl", {**GOOD, "id": 7})
    assert load_cases(path, catalog)[0].id == "7"


@pytest.mark.parametrize(
    ("rows", "fragments"),
    [
        (
            [
                '{"id": "x", "request": ',
            ],
            ["d.jsonl:1", "invalid JSON", "one complete JSON object"],
        ),
        ([GOOD, {"id": "x", "request": "r"}], ["d.jsonl:2", "'x'", "missing required field 'expected'"]),
        ([{"request": "r", "expected": []}], ["d.jsonl:1", "missing required field 'id'"]),
        ([{"id": "x", "expected": []}], ["missing required field 'request'"]),
        ([GOOD, GOOD], ["d.jsonl:2", "duplicate case id 'a-1'", "d.jsonl:1"]),
        (
            [{**GOOD, "expected": [{"tool": "kubectl_apply", "args": {}}]}],
            ["d.jsonl:1", "expected[0]", "unknown tool 'kubectl_apply'"],
        ),
        (
            [{**GOOD, "expected": [{"tool": "get_logs", "args": {"pod": {"$regex": "a"}}}]}],
            ["expected.0.args", "unknown operator '$regex'"],
        ),
        ([{**GOOD, "expected": "get_logs"}], ["expected"]),
        (["[1, 2]"], ["must be an object"]),
    ],
)
def test_bad_jsonl_names_file_line_and_fix(
    catalog: Catalog, tmp_path: Path, rows: list[object], fragments: list[str]
) -> None:
    path = write_jsonl(tmp_path / "d.jsonl", *rows)
    with pytest.raises(UserInputError) as err:
        load_cases(path, catalog)
    message = str(err.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message


def test_duplicate_ids_across_files(catalog: Catalog, tmp_path: Path) -> None:
    write_jsonl(tmp_path / "a.jsonl", GOOD)
    write_jsonl(tmp_path / "b.jsonl", GOOD)
    with pytest.raises(UserInputError, match=r"b.jsonl:1: duplicate case id 'a-1' \(first at .*a.jsonl:1\)"):
        load_cases(tmp_path, catalog)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("- id: y\n  request: r\n  expected: [\n", "YAML syntax error"),
        ("id: y\n", "a YAML dataset is a list of cases"),
        (
            "- id: a\n  request: r\n  expected: []\n- id: b\n  request: r\n",
            "d.yaml:4: case 'b': missing required",
        ),
    ],
)
def test_bad_yaml(catalog: Catalog, tmp_path: Path, text: str, fragment: str) -> None:
    path = tmp_path / "d.yaml"
    path.write_text(text)
    with pytest.raises(UserInputError, match=fragment):
        load_cases(path, catalog)


@pytest.mark.parametrize("name", ["missing.jsonl", "cases.csv"])
def test_bad_paths(catalog: Catalog, tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    if name.endswith(".csv"):
        path.write_text("id,request\n")
    with pytest.raises(UserInputError):
        load_cases(path, catalog)


def test_empty_directory(catalog: Catalog, tmp_path: Path) -> None:
    with pytest.raises(UserInputError, match="no dataset files"):
        load_cases(tmp_path, catalog)
