"""Load eval datasets: a ``.jsonl`` file, a ``.yaml``/``.yml`` file (a list of cases), or a directory.

A directory means every ``*.jsonl``, ``*.yaml`` and ``*.yml`` directly in it, sorted by name. Case ids
must be unique across all the files of one run. Bad input raises UserInputError with one line naming
file, line and fix; expected calls must name catalog tools. Reading files is the only I/O here.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from copilot.catalog import Catalog
from copilot.errors import UserInputError
from copilot.evaluation.cases import KNOWN_FIELDS, CallPattern, EvalCase
from copilot.yaml_source import parse_yaml

log = logging.getLogger(__name__)
SUFFIXES = (".jsonl", ".yaml", ".yml")
_HINTS = {
    "id": 'give each case a unique string id, e.g. "id": "checkout-5xx-001"',
    "request": 'add the chat message, e.g. "request": "checkout is throwing 5xx" (it may be "")',
    "expected": 'add the expected calls, e.g. "expected": [{"tool": "get_logs", "args": {}}] (may be [])',
}


def dataset_files(path: Path) -> list[Path]:
    """The dataset files behind ``path`` (a file, or a directory's *.jsonl / *.yaml / *.yml)."""
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix in SUFFIXES)
        if not files:
            raise UserInputError(f"{path}: no dataset files (*.jsonl, *.yaml, *.yml) in this directory")
        return files
    if not path.is_file():
        raise UserInputError(f"{path}: no such dataset file or directory; check the path")
    if path.suffix not in SUFFIXES:
        raise UserInputError(f"{path}: unsupported dataset type {path.suffix!r}; use .jsonl, .yaml or .yml")
    return [path]


def load_cases(path: Path, catalog: Catalog) -> list[EvalCase]:
    """Every case behind ``path``, validated against the contract and the catalog."""
    cases: list[EvalCase] = []
    seen: dict[str, str] = {}
    for file in dataset_files(path):
        for where, raw in _raw_cases(file):
            case = parse_case(raw, where, catalog)
            if case.id in seen:
                raise UserInputError(f"{where}: duplicate case id {case.id!r} (first at {seen[case.id]}); "
                                     "give each case a unique id")
            seen[case.id] = where
            cases.append(case)
    return cases


def parse_case(raw: Any, where: str, catalog: Catalog) -> EvalCase:
    """Validate one raw case; ``where`` (``file:line``) prefixes any error."""
    if not isinstance(raw, dict):
        raise UserInputError(f"{where}: a case must be an object with id, request and expected; "
                             f"got {type(raw).__name__}")
    unknown = sorted(set(raw) - KNOWN_FIELDS)
    if unknown:
        log.warning("%s: ignoring unknown case fields %s", where, ", ".join(unknown))
    _warn_odd_call_keys(raw, where)
    try:
        case = EvalCase.model_validate(raw)
    except ValidationError as exc:
        raise UserInputError(f"{where}: case {raw.get('id', '?')!r}: {_explain(exc)}") from None
    _check_tools(case, where, catalog)
    return case


def _warn_odd_call_keys(raw: dict[str, Any], where: str) -> None:
    for field in ("expected", "forbidden_calls"):
        calls = raw.get(field)
        for index, call in enumerate(calls if isinstance(calls, list) else []):
            odd = sorted(set(call) - {"tool", "args"}) if isinstance(call, dict) else []
            if odd:
                log.warning("%s: %s[%d]: ignoring keys %s; a call pattern has only tool and args",
                            where, field, index, ", ".join(odd))


def _explain(exc: ValidationError) -> str:
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"]) or "case"
    field = str(err["loc"][0]) if err["loc"] else ""
    if err["type"] == "missing":
        return f"missing required field {loc!r}; {_HINTS.get(field, 'add it')}"
    msg = err["msg"].removeprefix("Value error, ")
    return f"{loc}: {msg}"


def _check_tools(case: EvalCase, where: str, catalog: Catalog) -> None:
    for index, call in enumerate(case.expected):
        if call.tool not in catalog:
            raise UserInputError(f"{where}: case {case.id!r}: expected[{index}] names unknown tool "
                                 f"{call.tool!r}; use a catalog tool ({_close(call.tool, catalog)})")
        _warn_unknown_args(case, where, call, catalog)
    for call in case.forbidden_calls:
        if call.tool in catalog:
            _warn_unknown_args(case, where, call, catalog)
    strays = [t for t in (*case.acceptable, *case.forbidden, *(c.tool for c in case.forbidden_calls))
              if t not in catalog]
    if strays:
        log.warning("%s: case %r names tools outside the catalog in acceptable/forbidden: %s",
                    where, case.id, ", ".join(sorted(set(strays))))


def _warn_unknown_args(case: EvalCase, where: str, call: CallPattern, catalog: Catalog) -> None:
    names = {arg.name for arg in catalog.get(call.tool).args}
    unknown = sorted(set(call.args) - names)
    if unknown:
        log.warning("%s: case %r: %s has no argument(s) %s; such keys never match",
                    where, case.id, call.tool, ", ".join(unknown))


def _close(tool: str, catalog: Catalog) -> str:
    stem = tool.split("_")[0]
    close = [name for name in catalog.names if stem and (stem in name or name.split("_")[0] in tool)]
    return f"did you mean {', '.join(close[:5])}?" if close else f"known tools: {', '.join(catalog.names)}"


# --------------------------------------------------------------------------- file formats


def _raw_cases(file: Path) -> Iterator[tuple[str, Any]]:
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UserInputError(
            f"{file}: cannot read the dataset ({exc}); check the path and that it is UTF-8"
        ) from None
    if file.suffix == ".jsonl":
        yield from _jsonl_cases(file, text)
    else:
        yield from _yaml_cases(file, text)


def _jsonl_cases(file: Path, text: str) -> Iterator[tuple[str, Any]]:
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield f"{file}:{number}", json.loads(line)
        except json.JSONDecodeError as exc:
            raise UserInputError(f"{file}:{number}: invalid JSON ({exc.msg} at column {exc.colno}); "
                                 "each line must be one complete JSON object") from None


def _yaml_cases(file: Path, text: str) -> Iterator[tuple[str, Any]]:
    root, data = parse_yaml(text, str(file), UserInputError)
    if isinstance(data, dict) and isinstance(data.get("cases"), list):
        data = data["cases"]
        root = _mapping_value(root, "cases")
    if data is None:
        return
    if not isinstance(data, list):
        raise UserInputError(f"{file}:1: a YAML dataset is a list of cases (`- id: ...`); "
                             f"got a {type(data).__name__}")
    lines = [item.start_mark.line + 1 for item in root.value] if isinstance(root, yaml.SequenceNode) else []
    for index, raw in enumerate(data):
        yield f"{file}:{lines[index] if index < len(lines) else 1}", raw


def _mapping_value(root: yaml.Node | None, key: str) -> yaml.Node | None:
    if isinstance(root, yaml.MappingNode):
        for k, v in root.value:
            if k.value == key:
                node: yaml.Node = v
                return node
    return None
