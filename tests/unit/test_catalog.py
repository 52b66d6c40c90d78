"""The catalog follows shared/contracts/tool-catalog.md to the letter, and bad catalogs fail clearly."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from copilot.catalog import Catalog, load_catalog
from copilot.domain import ToolCall
from copilot.errors import ArgumentError, ConfigError, UnknownToolError


def _contract_tools(shared: Path) -> dict[str, tuple[set[str], bool]]:
    """Parse the contract tables: tool -> (argument names, mutating)."""
    text = (shared / "contracts" / "tool-catalog.md").read_text()
    tools: dict[str, tuple[set[str], bool]] = {}
    section = ""
    for line in text.splitlines():
        if line.startswith("## "):
            section = line
        match = re.match(r"^\| ([a-z_]+) \| (.+?) \|", line)
        if not match or match.group(1) == "tool":
            continue
        args = {re.match(r"\s*([a-z_]+)", part).group(1) for part in match.group(2).split(",")
                if re.match(r"\s*([a-z_]+)\??:", part)}
        tools[match.group(1)] = (args, "Mutating" in section)
    return tools


def test_catalog_matches_contract(catalog: Catalog, shared_dir: Path) -> None:
    contract = _contract_tools(shared_dir)
    assert len(contract) == 30
    for name, (args, mutating) in contract.items():
        spec = catalog.get(name)
        assert {a.name for a in spec.args} >= args, name
        assert spec.mutating == mutating, name


def test_optional_marks_match_contract(catalog: Catalog, shared_dir: Path) -> None:
    text = (shared_dir / "contracts" / "tool-catalog.md").read_text()
    for tool, arg in re.findall(r"\| ([a-z_]+) \| [^|]*?\b([a-z_]+)\?:", text):
        pass  # the regex above only finds the first optional; check all below
    for line in text.splitlines():
        match = re.match(r"^\| ([a-z_]+) \| (.+?) \|", line)
        if not match or match.group(1) == "tool":
            continue
        for part in match.group(2).split(","):
            m = re.match(r"\s*([a-z_]+)(\??):", part)
            if m:
                spec = catalog.get(match.group(1)).arg(m.group(1))
                assert spec is not None
                assert spec.required == (m.group(2) == ""), (match.group(1), m.group(1))


@pytest.mark.parametrize(
    ("tool", "args", "expected"),
    [
        ("block_ip", {"cidr": "203.0.113.7"}, {"cidr": "203.0.113.7/32"}),
        ("block_ip", {"cidr": "2001:db8::1"}, {"cidr": "2001:db8::1/128"}),
        ("block_ip", {"cidr": "10.1.2.3/24", "ttl": "90 minutes"}, {"cidr": "10.1.2.0/24", "ttl": "90m"}),
        ("silence_alert", {"matchers": "alertname=Watchdog,env=prod", "duration": "2 hours", "comment": "x"},
         {"matchers": ["alertname=Watchdog", "env=prod"], "duration": "2h", "comment": "x"}),
        ("silence_alert", {"matchers": ['job=~api.*'], "duration": "1d", "comment": "x"},
         {"matchers": ['job=~"api.*"'], "duration": "1d", "comment": "x"}),
        ("resize_pvc", {"namespace": "db", "pvc": "data", "size": "200 GiB"},
         {"namespace": "db", "pvc": "data", "size": "200Gi"}),
        ("scale_deployment", {"namespace": "shop", "deployment": "web", "replicas": "5"},
         {"namespace": "shop", "deployment": "web", "replicas": 5}),
    ],
)
def test_arguments_are_normalised(catalog: Catalog, tool: str, args: dict, expected: dict) -> None:
    assert catalog.validate_args(tool, args) == expected


@pytest.mark.parametrize(
    ("tool", "args", "fragment"),
    [
        ("scale_deployment", {"namespace": "shop", "deployment": "web"}, "replicas: required"),
        ("scale_deployment", {"namespace": "shop", "deployment": "web", "replicas": -1}, "replicas"),
        ("scale_deployment", {"namespace": "shop", "deployment": "web", "replicas": 1, "force": True},
         "force: not an argument"),
        ("block_ip", {"cidr": "not-an-ip"}, "203.0.113.7/32"),
        ("silence_alert", {"matchers": ["nonsense"], "duration": "1h", "comment": "c"}, "not a matcher"),
        ("silence_alert", {"matchers": ["a=b"], "duration": "forever", "comment": "c"}, "duration"),
        ("get_logs", {"namespace": ""}, "namespace"),
    ],
)
def test_bad_arguments_name_the_fix(catalog: Catalog, tool: str, args: dict, fragment: str) -> None:
    with pytest.raises(ArgumentError, match=re.escape(fragment)):
        catalog.validate_args(tool, args)


def test_unknown_tool(catalog: Catalog) -> None:
    with pytest.raises(UnknownToolError, match="unknown tool 'scale_deploy'"):
        catalog.get("scale_deploy")


def test_target_template(catalog: Catalog) -> None:
    call = ToolCall(tool="rollback_deployment", args={"namespace": "shop", "deployment": "checkout"})
    assert catalog.target(call) == "shop/checkout"
    assert catalog.target(ToolCall(tool="get_metrics", args={"query": "up"})) == "get_metrics"


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("toolset: x\ntools:\n  - name: a\n    description: d\n    mutating: true\n    risk: huge\n",
         "broken.yaml:3: tool 'a': risk 'huge' must be low, medium or high"),
        ("toolset: x\ntools:\n  - name: a\n    description: d\n    mutating: true\n    risk: low\n"
         "    args:\n      n: {type: float}\n", "broken.yaml:3: tool 'a': argument 'n' has type 'float'"),
        ("toolset: x\ntools:\n  - name: a\n    descripton: d\n    mutating: true\n    risk: low\n",
         "broken.yaml:3: tool 'a': unknown key 'descripton'"),
        ("toolset: x\ntools:\n  - name: a\n   description: d\n", "broken.yaml:4: YAML syntax error"),
        ("toolset: x\ntools:\n  - name: a\n    description: d\n    mutating: true\n    risk: low\n"
         "    target: '{ns}/{x}'\n", "target uses {ns} which is not an argument"),
        ("tools: []\n", "broken.yaml:1: missing key 'toolset'"),
    ],
)
def test_broken_catalog_names_file_line_and_fix(tmp_path: Path, content: str, fragment: str) -> None:
    (tmp_path / "broken.yaml").write_text(content)
    with pytest.raises(ConfigError) as info:
        load_catalog(tmp_path)
    assert fragment in str(info.value)
    assert "\n" not in str(info.value)


def test_duplicate_tool_across_files(tmp_path: Path) -> None:
    entry = "  - name: a\n    description: d\n    mutating: false\n    risk: low\n"
    (tmp_path / "a.yaml").write_text("toolset: x\ntools:\n" + entry)
    (tmp_path / "b.yaml").write_text("toolset: y\ntools:\n" + entry)
    with pytest.raises(ConfigError, match="already defined in"):
        load_catalog(tmp_path)


def test_args_model_json_schema_is_generated(catalog: Catalog) -> None:
    schema = catalog.args_model("scale_deployment").model_json_schema()
    assert schema["properties"]["replicas"]["minimum"] == 0
    assert set(schema["required"]) == {"namespace", "deployment", "replicas"}
