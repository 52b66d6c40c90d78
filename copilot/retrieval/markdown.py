"""One markdown runbook -> a RunbookDoc: front matter, title, alert names, chunks with line ranges.

Front matter (YAML between ``---`` lines) is optional; without it the title is the first H1 (else
the file name), alert names come from a CamelCase file name or title (``KubePodCrashLooping.md``),
and the services are the parent folder's name. Chunks follow the headings, found with
langchain-text-splitters' ``MarkdownHeaderTextSplitter``; a long section is split further at
blank lines outside code blocks. Every chunk keeps its heading path and 1-based line range.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

import yaml
from langchain_text_splitters import MarkdownHeaderTextSplitter
from pydantic import ValidationError

from copilot.domain import RetrievedChunk, RunbookDoc, RunbookStep
from copilot.errors import UserInputError
from copilot.retrieval.placeholders import normalize_arg_values

MAX_CHUNK_CHARS = 1500
TARGET_CHUNK_CHARS = 1000
_HEADERS = [("#" * level, f"h{level}") for level in range(1, 7)]
_CAMEL = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")
_FENCE = re.compile(r"^\s*(```+|~~~+)")


class RunbookError(UserInputError):
    """A runbook file cannot be read (not UTF-8, broken front matter); it is skipped, not fatal."""


@dataclass(frozen=True)
class Section:
    """A heading-delimited span of the file (1-based, inclusive)."""

    heading_path: tuple[str, ...]
    line_start: int
    line_end: int


def split_front_matter(text: str) -> tuple[dict[str, Any], int]:
    """Front matter as a dict, and the 0-based index of the first body line."""
    lines = text.split("\n")
    if not lines or lines[0].strip() != "---":
        return {}, 0
    end = next((i for i in range(1, len(lines)) if lines[i].strip() in ("---", "...")), None)
    if end is None:
        raise RunbookError("front matter starts with '---' but has no closing '---' line; close it")
    try:
        data = yaml.safe_load("\n".join(lines[1:end])) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 2}" if mark else ""
        raise RunbookError(f"front matter is not valid YAML{where}: {getattr(exc, 'problem', exc)}; "
                           "fix the indentation or quoting") from None
    if not isinstance(data, dict):
        raise RunbookError("front matter must be a YAML mapping (key: value lines)")
    return data, end + 1


def infer_alert_names(stem: str, title: str) -> tuple[str, ...]:
    """Alert names from a CamelCase file name (``KubePodCrashLooping``, ``ACMRemoteWriteError``) or a
    one-word title; a lowerCamel name (``etcdNoLeader``) only when the title agrees."""
    names: list[str] = []
    title_word = title.strip().strip("`").removeprefix("Alert:").strip().strip("`")
    if _is_camel(stem) and (stem[0].isupper() or stem == title_word):
        names.append(stem)
    if _is_camel(title_word) and title_word not in names:
        names.append(title_word)
    return tuple(names)


def _is_camel(word: str) -> bool:
    return (len(word) >= 5 and bool(_CAMEL.match(word)) and any(c.islower() for c in word)
            and any(c.isupper() for c in word[1:]))


def find_sections(lines: Sequence[str], body_start: int) -> list[Section]:
    """Heading-delimited sections of ``lines[body_start:]`` via MarkdownHeaderTextSplitter."""
    body = "\n".join(lines[body_start:])
    splitter = MarkdownHeaderTextSplitter(_HEADERS, strip_headers=True)
    documents = splitter.split_text(body)
    starts: list[tuple[int, tuple[str, ...]]] = []
    cursor = body_start
    for document in documents:
        meta = document.metadata
        path = tuple(str(meta[f"h{lvl}"]) for lvl in range(1, 7) if f"h{lvl}" in meta)
        line = _heading_line(lines, cursor, path) if path else body_start
        cursor = max(cursor, line + 1)
        starts.append((line, path))
    sections: list[Section] = []
    for index, (start, path) in enumerate(starts):
        end = starts[index + 1][0] - 1 if index + 1 < len(starts) else len(lines) - 1
        end = _trim_tail(lines, start, end)
        if end >= start:
            sections.append(Section(path, start + 1, end + 1))
    return sections


def _heading_line(lines: Sequence[str], cursor: int, path: tuple[str, ...]) -> int:
    wanted = path[-1]
    in_code = False
    for index in range(cursor, len(lines)):
        stripped = lines[index].strip()
        if _FENCE.match(stripped):
            in_code = not in_code
        if not in_code and stripped.startswith("#") and stripped.lstrip("#").strip() == wanted:
            return index
    return cursor


def _trim_tail(lines: Sequence[str], start: int, end: int) -> int:
    while end > start and (not lines[end].strip() or re.match(r"^\s*#{1,6}\s", lines[end])):
        end -= 1
    return end


def split_long(lines: Sequence[str], section: Section) -> list[Section]:
    """Split a section longer than MAX_CHUNK_CHARS at blank lines outside code blocks."""
    span = lines[section.line_start - 1:section.line_end]
    if sum(len(line) + 1 for line in span) <= MAX_CHUNK_CHARS:
        return [section]
    pieces: list[Section] = []
    start, size, in_code = section.line_start, 0, False
    for number in range(section.line_start, section.line_end + 1):
        line = lines[number - 1]
        in_code = in_code != bool(_FENCE.match(line))
        size += len(line) + 1
        if size >= TARGET_CHUNK_CHARS and not in_code and not line.strip() and number > start:
            pieces.append(Section(section.heading_path, start, number - 1))
            start, size = number + 1, 0
    if start <= section.line_end:
        pieces.append(Section(section.heading_path, start, section.line_end))
    return [p for p in pieces if any(lines[i - 1].strip() for i in range(p.line_start, p.line_end + 1))]


def section_name(path: tuple[str, ...], title: str) -> str:
    """The top-level section under the title (``Diagnosis``), ``Overview`` before any heading."""
    rest = path[1:] if path and path[0] == title else path
    return rest[0] if rest else "Overview"


def parse_runbook(text: str, source_path: str) -> tuple[RunbookDoc, list[str]]:
    """Parse one runbook into a RunbookDoc (chunks without candidate calls) and its file lines."""
    front, body_start = split_front_matter(text)
    lines = text.split("\n")
    stem = PurePosixPath(source_path).stem
    title = str(front.get("title") or _first_h1(lines[body_start:]) or stem)
    doc_id = str(front.get("id") or source_path.removesuffix(".md").removesuffix(".markdown"))
    alerts = _str_list(front.get("alerts", front.get("alert"))) or infer_alert_names(stem, title)
    parent = PurePosixPath(source_path).parent.name
    services = _str_list(front.get("services", front.get("service"))) or ((parent,) if parent else ())
    chunks: list[RetrievedChunk] = []
    for section in find_sections(lines, body_start):
        for piece in split_long(lines, section):
            chunk_text = "\n".join(lines[piece.line_start - 1:piece.line_end]).strip()
            chunks.append(RetrievedChunk(
                chunk_id=f"{doc_id}#{len(chunks)}", doc_id=doc_id, source_path=source_path, title=title,
                section=section_name(piece.heading_path, title), heading_path=piece.heading_path,
                line_start=piece.line_start, line_end=piece.line_end, text=chunk_text,
                alert_names=alerts, services=services,
            ))
    doc = RunbookDoc(
        doc_id=doc_id, source_path=source_path, title=title, alert_names=alerts, services=services,
        risk=_risk(front.get("risk")), steps=_steps(front.get("steps")), front_matter=front,
        chunks=tuple(chunks),
    )
    return doc, lines


def _first_h1(lines: Sequence[str]) -> str | None:
    in_code = False
    for line in lines:
        if _FENCE.match(line):
            in_code = not in_code
        elif not in_code and re.match(r"^#\s+\S", line):
            return line.lstrip("#").strip()
    return None


def _str_list(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(v.strip() for v in value.split(",") if v.strip())
    if isinstance(value, list):
        return tuple(str(v) for v in value)
    raise RunbookError(f"expected a list of names, got {type(value).__name__}: {value!r}")


def _risk(value: Any) -> Any:
    if value is None:
        return None
    if value not in ("low", "medium", "high"):
        raise RunbookError(f"risk: {value!r} must be low, medium or high")
    return value


def _steps(value: Any) -> tuple[RunbookStep, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise RunbookError("steps: must be a list of {tool, args, phase, when}")
    steps: list[RunbookStep] = []
    for index, raw in enumerate(value, start=1):
        if not isinstance(raw, dict):
            raise RunbookError(f"steps[{index}]: must be a mapping with a `tool:` key")
        raw = dict(raw)
        args = raw.get("args") or {}
        if not isinstance(args, dict):
            raise RunbookError(f"steps[{index}].args: must be a mapping of argument name to value, "
                               f"got {type(args).__name__}")
        raw["args"] = normalize_arg_values(args)
        try:
            steps.append(RunbookStep.model_validate(raw))
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err["loc"])
            raise RunbookError(f"steps[{index}].{where}: {err['msg']}; allowed keys: tool, args, phase, "
                               "when, title") from None
    return tuple(steps)
