"""Walking runbook folders and turning files into RunbookDocs with candidate calls.

Files are read here; parsing is pure. A bad file (not UTF-8, broken front matter, a step naming
a tool the catalog lacks) becomes a ``SkippedFile`` with the reason, never an exception that
stops the batch.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, Field

from copilot.catalog import Catalog
from copilot.domain import RunbookDoc
from copilot.retrieval.command_map import CommandMapper
from copilot.retrieval.markdown import RunbookError, parse_runbook
from copilot.retrieval.shell import commands_in_markdown

MARKDOWN_SUFFIXES = (".md", ".markdown")
PARSER_VERSION = "4"  # bump when parsing changes, so unchanged files are re-ingested once


class SkippedFile(BaseModel):
    path: str
    reason: str


class IngestReport(BaseModel):
    """What one ``ingest`` did. ``files`` counts markdown files found, ``chunks`` their chunks."""

    files: int = 0
    chunks: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    embedded_chunks: int = 0
    skipped: list[SkippedFile] = Field(default_factory=list)
    ignored_non_markdown: int = 0
    seconds: float = 0.0


@dataclass(frozen=True)
class SourceFile:
    """A markdown file under an ingested root."""

    root: Path
    path: Path

    @property
    def relative(self) -> str:
        return self.path.relative_to(self.root).as_posix()


def walk_markdown(root: Path) -> tuple[list[SourceFile], int]:
    """Markdown files under ``root`` (sorted, hidden folders skipped) and the count of other files."""
    found: list[SourceFile] = []
    others = 0
    for path in sorted(_files(root)):
        if path.suffix.lower() in MARKDOWN_SUFFIXES:
            found.append(SourceFile(root, path))
        else:
            others += 1
    return found, others


def _files(root: Path) -> Iterator[Path]:
    for path in root.rglob("*"):
        if path.is_file() and not any(part.startswith(".") for part in path.relative_to(root).parts):
            yield path


def content_hash(data: bytes, catalog_digest: str) -> str:
    """Changes when the file, the parser or the catalog's command patterns change."""
    return hashlib.sha256(PARSER_VERSION.encode() + catalog_digest.encode() + data).hexdigest()


def catalog_digest(catalog: Catalog) -> str:
    text = "|".join(f"{spec.name}:{[p.model_dump_json() for p in spec.commands]}" for spec in catalog)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def build_document(data: bytes, source_path: str, catalog: Catalog, mapper: CommandMapper) -> RunbookDoc:
    """Parse one file's bytes into a RunbookDoc whose chunks carry their candidate calls.

    Raises RunbookError for a file that must be skipped.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RunbookError(f"not UTF-8 (byte {exc.start}); re-save the file as UTF-8") from None
    doc, lines = parse_runbook(text.replace("\r\n", "\n"), source_path)
    for index, step in enumerate(doc.steps, start=1):
        if step.tool not in catalog:
            known = ", ".join(catalog.names)
            raise RunbookError(f"steps[{index}]: unknown tool {step.tool!r}; use one of: {known}")
    commands = commands_in_markdown(lines)
    chunks = []
    for chunk in doc.chunks:
        inside = [c for c in commands if chunk.line_start <= c.line <= chunk.line_end]
        chunks.append(chunk.model_copy(update={"candidate_calls": tuple(mapper.map_all(inside))}))
    return doc.model_copy(update={"chunks": tuple(chunks)})
