"""Composition helpers shared by the CLI and the API: settings -> catalog, guard, suggester.

Nothing happens at import time; each helper builds what it is asked for from a Settings object.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

from copilot.catalog import Catalog, load_catalog
from copilot.domain import RISK_ORDER, Risk, RunbookDoc
from copilot.errors import ConfigError
from copilot.guard import Guard
from copilot.planning.service import Suggester
from copilot.policy import load_policy
from copilot.ports import Planner
from copilot.settings import Settings

log = logging.getLogger(__name__)
PLANNERS = ("runbook", "llm", "hybrid")

# USD per million (input, output) tokens, by model name. Models not listed cost 0.0: right for
# local servers (vLLM, Ollama, llama.cpp); add hosted models here to record their cost.
PRICE_TABLE: dict[str, tuple[float, float]] = {
    "gpt-4o": (2.50, 10.00),
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
}


def build_catalog(settings: Settings) -> Catalog:
    return load_catalog(settings.catalog_dir)


def build_guard(
    settings: Settings, catalog: Catalog, runbook_risks: Mapping[str, Risk] | None = None
) -> Guard:
    """The guard over the configured policy; ``runbook_risks`` (see ``runbook_risk_map``) gives
    ``run_runbook`` the risk its runbook declares (without it: medium, the contract's default)."""
    return Guard(catalog, load_policy(settings.policy_file, catalog), runbook_risks)


def shipped_runbook_risks(settings: Settings) -> dict[str, Risk]:
    """``runbook_risk_map`` of the shipped knowledge folder, read from front matter alone (no index,
    no embeddings), for guards built outside a Suggester: the API's and the demo's approval path,
    and ``copilot guard check``. A runbook that does not parse is left out (the index reports it)."""
    from copilot.retrieval.markdown import RunbookError, parse_runbook

    folder = Path(settings.knowledge_dir)
    documents = []
    for path in sorted(folder.rglob("*.md")) if folder.is_dir() else []:
        try:
            doc, _ = parse_runbook(path.read_text(encoding="utf-8"), path.relative_to(folder).as_posix())
        except (OSError, UnicodeDecodeError, RunbookError) as exc:
            log.warning("runbook %s skipped for the risk map: %s", path, exc)
            continue
        documents.append(doc)
    return runbook_risk_map(documents)


def runbook_risk_map(documents: Iterable[RunbookDoc]) -> dict[str, Risk]:
    """Runbook reference -> declared risk, for every runbook that declares one. References: the doc
    id, the file name with and without .md, and the title (the guard compares them case-blind)."""
    risks: dict[str, Risk] = {}
    for doc in documents:
        if doc.risk is None:
            continue
        name = PurePosixPath(doc.source_path.replace("\\", "/")).name
        for ref in (doc.doc_id, name, name.removesuffix(".md"), doc.title):
            if ref.strip():
                key = ref.strip().casefold()
                known = risks.get(key)
                if known is None or RISK_ORDER[doc.risk] > RISK_ORDER[known]:
                    risks[key] = doc.risk  # two runbooks, one reference: the riskier one counts
    return risks


def resolve_planner_name(settings: Settings, planner: str | None = None) -> str:
    """``runbook``, ``llm`` or ``hybrid``; ``auto`` means hybrid when an LLM is configured."""
    name = (planner or settings.planner or "auto").strip().lower()
    if name == "auto":
        return "hybrid" if settings.llm_base_url else "runbook"
    if name not in PLANNERS:
        raise ConfigError(f"unknown planner {name!r}; use one of {', '.join(PLANNERS)} (or auto)")
    if name != "runbook" and not settings.llm_base_url:
        raise ConfigError(f"planner {name!r} needs an LLM; set COPILOT_LLM_BASE_URL and COPILOT_LLM_MODEL, "
                          "or use --planner runbook")
    return name


def build_suggester(
    settings: Settings,
    *,
    planner: str | None = None,
    extra_knowledge: Sequence[Path] = (),
    progress: Callable[..., Any] | None = None,
) -> Suggester:
    """The planner the settings (or ``planner``) pick, over the knowledge base, behind the guard.

    ``extra_knowledge`` folders are indexed in a throwaway store together with the shipped
    knowledge; nothing persistent changes.
    """
    from copilot.planning.context import ContextBuilder
    from copilot.planning.runbook_planner import RunbookPlanner
    from copilot.retrieval import open_knowledge_base

    name = resolve_planner_name(settings, planner)
    catalog = build_catalog(settings)
    for folder in extra_knowledge:
        if not Path(folder).is_dir():
            raise ConfigError(f"--knowledge {folder}: not a folder; give a directory of markdown runbooks")
    kb = open_knowledge_base(settings, catalog, extra_dirs=tuple(extra_knowledge),
                             ephemeral=bool(extra_knowledge), progress=progress)
    try:
        documents = kb.documents()
        guard = build_guard(settings, catalog, runbook_risk_map(documents))
        runbook = RunbookPlanner(kb, catalog)
        chosen: Planner = runbook
        if name != "runbook":
            contexts = ContextBuilder(kb, k=8)
            chosen = _llm_planner(settings, catalog, contexts, runbook, hybrid=name == "hybrid")
        digest = knowledge_digest(documents)
    except BaseException:
        kb.close()
        raise
    return Suggester(chosen, guard, catalog, knowledge_digest=digest, on_close=[kb.close])


def _llm_planner(settings: Settings, catalog: Catalog, contexts: Any, runbook: Any, *,
                 hybrid: bool) -> Planner:
    from copilot.planning.hybrid import HybridPlanner
    from copilot.planning.llm_planner import LLMPlanner, ModelPrice, build_openai_model
    from copilot.planning.prompts import load_prompt

    model_name = settings.llm_model or ""
    api_key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
    model = build_openai_model(str(settings.llm_base_url), model_name, api_key)
    price = ModelPrice(*PRICE_TABLE.get(model_name, (0.0, 0.0)))
    llm = LLMPlanner(catalog, contexts, runbook, model=model, prompt=load_prompt(settings.prompts_dir),
                     model_name=model_name, timeout_s=settings.llm_timeout_s, retries=settings.llm_retries,
                     price=price)
    return HybridPlanner(catalog, contexts, runbook, llm) if hybrid else llm


def knowledge_digest(documents: Sequence[Any]) -> str:
    """sha256 over the ingested documents' content hashes (or ids when they carry none), sorted."""
    parts = sorted(_doc_fingerprint(doc) for doc in documents)
    return hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()


def _doc_fingerprint(doc: Any) -> str:
    for attr in ("content_hash", "sha256", "digest"):
        value = getattr(doc, attr, None)
        if isinstance(value, str) and value:
            return value
    front = getattr(doc, "front_matter", None) or {}
    if isinstance(front, dict) and isinstance(front.get("content_hash"), str):
        return str(front["content_hash"])
    chunks = getattr(doc, "chunks", ()) or ()
    body = "".join(getattr(chunk, "text", "") for chunk in chunks)
    doc_id = getattr(doc, "doc_id", None) or str(doc)
    return hashlib.sha256(f"{doc_id}\n{body}".encode()).hexdigest()
