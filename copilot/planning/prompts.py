"""Versioned prompt templates from ``prompts/`` and rendering them with a redacted context.

A template is a markdown file ``prompts/<name>_v<N>.md``. The text above the line
``<!-- context -->`` becomes the model's instructions; the text below is the user message,
with ``{{slot}}`` placeholders filled from the (already redacted) planning context.
The template's sha256 goes into every suggestion as ``prompt_hash``.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from copilot.catalog import Catalog
from copilot.domain import PlanRequest, RetrievedChunk, ToolSpec
from copilot.errors import ConfigError

CONTEXT_MARKER = "<!-- context -->"
_SLOT = re.compile(r"\{\{\s*(\w+)\s*\}\}")
_SLOTS = ("principal", "request", "alert", "entities", "telemetry", "chunks", "catalog")
_MAX_VALUE_CHARS = 600
_MAX_CHUNK_CHARS = 1500


@dataclass(frozen=True)
class PromptTemplate:
    """One versioned template: its file name, text and sha256 (the ``prompt_hash``)."""

    name: str
    text: str
    sha256: str

    @property
    def instructions(self) -> str:
        return self.text.split(CONTEXT_MARKER, 1)[0].strip()

    @property
    def context_template(self) -> str:
        return self.text.split(CONTEXT_MARKER, 1)[1].strip()


@dataclass(frozen=True)
class RenderedPrompt:
    instructions: str
    user: str
    prompt_hash: str


def load_prompt(prompts_dir: Path, name: str = "planner", version: int | None = None) -> PromptTemplate:
    """Load ``<name>_v<version>.md`` (the highest version when ``version`` is None)."""
    directory = Path(prompts_dir)
    if version is not None:
        path = directory / f"{name}_v{version}.md"
    else:
        found = sorted(directory.glob(f"{name}_v*.md"), key=_version_of)
        if not found:
            raise ConfigError(f"{directory}: no prompt template {name}_v<N>.md; "
                              "point COPILOT_PROMPTS_DIR at prompts/")
        path = found[-1]
    if not path.is_file():
        raise ConfigError(f"{path}: prompt template not found; check COPILOT_PROMPTS_DIR and the version")
    text = path.read_text(encoding="utf-8")
    return parse_prompt(path.name, text)


def parse_prompt(name: str, text: str) -> PromptTemplate:
    """Check a template's shape: one context marker and only known ``{{slots}}``."""
    if text.count(CONTEXT_MARKER) != 1:
        raise ConfigError(f"{name}: a prompt template needs exactly one line {CONTEXT_MARKER!r} "
                          "between the instructions and the context")
    unknown = sorted(set(_SLOT.findall(text)) - set(_SLOTS))
    if unknown:
        raise ConfigError(f"{name}: unknown template slot(s) {unknown}; use {', '.join(_SLOTS)}")
    return PromptTemplate(name=name, text=text, sha256=hashlib.sha256(text.encode("utf-8")).hexdigest())


def _version_of(path: Path) -> int:
    match = re.search(r"_v(\d+)\.md$", path.name)
    return int(match.group(1)) if match else -1


def render_prompt(
    template: PromptTemplate,
    request: PlanRequest,
    chunks: Sequence[RetrievedChunk],
    catalog: Catalog,
    *,
    entities: Mapping[str, Any] | None = None,
) -> RenderedPrompt:
    """Fill the template with the redacted request, alert, telemetry, chunks (with ids) and catalog."""
    values = {
        "principal": request.principal.name,
        "request": _escape(request.text.strip() or "(no chat message; the alert is the request)"),
        "alert": _escape(_alert_text(request)),
        "entities": _escape(_mapping_text(entities or {}) or "(none bound)"),
        "telemetry": _escape(_mapping_text(request.telemetry) or "(no telemetry)"),
        "chunks": _escape(_chunks_text(chunks) or "(no runbook passage matched)"),
        "catalog": catalog_summary(catalog),
    }
    user = _SLOT.sub(lambda m: values[m.group(1)], template.context_template)
    return RenderedPrompt(instructions=template.instructions, user=user, prompt_hash=template.sha256)


def catalog_summary(catalog: Catalog) -> str:
    return "\n".join(_tool_line(spec) for spec in catalog)


def _tool_line(spec: ToolSpec) -> str:
    args = ", ".join(f"{a.name}{'' if a.required else '?'}: {a.type}" for a in spec.args)
    kind = "mutating" if spec.mutating else ("notify" if spec.toolset == "incident" else "read-only")
    return f"- {spec.name}({args}) [{kind}]: {spec.description}"


def _alert_text(request: PlanRequest) -> str:
    alert = request.alert
    if alert is None:
        return "(no alert)"
    lines = [f"status: {alert.status}"]
    lines += [f"label {key}: {value}" for key, value in sorted(alert.labels.items())]
    lines += [f"annotation {key}: {_clip(value)}" for key, value in sorted(alert.annotations.items())]
    if alert.startsAt is not None:
        lines.append(f"startsAt: {alert.startsAt.isoformat()}")
    return "\n".join(lines)


def _mapping_text(values: Mapping[str, Any]) -> str:
    return "\n".join(f"{key}: {_clip(_json(value))}" for key, value in values.items())


def _chunks_text(chunks: Sequence[RetrievedChunk]) -> str:
    blocks = []
    for chunk in chunks:
        where = f"{chunk.source_path}:{chunk.line_start}-{chunk.line_end}"
        heading = f"{chunk.title} / {chunk.section}".strip(" /")
        blocks.append(f"[id: {chunk.chunk_id}] {heading} ({where})\n{chunk.text[:_MAX_CHUNK_CHARS]}")
    return "\n\n".join(blocks)


def _json(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, default=str)


def _clip(text: str) -> str:
    return text if len(text) <= _MAX_VALUE_CHARS else text[:_MAX_VALUE_CHARS] + " ..."


def _escape(text: str) -> str:
    """Data can't close its own <data> fence or open a new template slot."""
    return text.replace("</data>", "</ data>").replace("<data>", "< data>").replace("{{", "{ {")
