"""Context assembly: redaction first, entities, retrieval, documents."""

from __future__ import annotations

from copilot.domain import Alert, PlanRequest
from copilot.planning.context import ContextBuilder, build_query
from tests.fakes import FakeRetriever
from tests.unit.planning.runbook_docs import deploy_5xx_doc, node_doc_without_front_matter


def test_redacts_request_alert_and_telemetry_before_anything_else() -> None:
    retriever = FakeRetriever([deploy_5xx_doc()])
    request = PlanRequest(
        text="checkout 5xx, my token is ghp_abcdefghijklmnopqrstuvwxyz0123456789",
        alert=Alert(labels={"alertname": "HighHTTP5xxRate"},
                    annotations={"description": "password=hunter2xyz leaked"}),
        telemetry={"logs": ["Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abcdefghijk"]},
        history=["earlier: password=hunter2xyz"],
    )
    ctx = ContextBuilder(retriever).build(request)
    dumped = ctx.request.model_dump_json() + str(ctx.telemetry) + ctx.query
    assert "ghp_abcdefghijklmnopqrstuvwxyz0123456789" not in dumped
    assert "hunter2xyz" not in dumped
    assert "eyJzdWIiOiIxIn0" not in dumped
    assert all("ghp_" not in query for query in retriever.queries)


def test_retrieves_chunks_and_their_documents_with_the_alert_name() -> None:
    retriever = FakeRetriever([node_doc_without_front_matter(), deploy_5xx_doc()])
    alert = Alert(labels={"alertname": "HighHTTP5xxRate", "namespace": "shop", "deployment": "checkout"},
                  annotations={"summary": "checkout 5xx above 2%"})
    ctx = ContextBuilder(retriever, k=3).build(PlanRequest(text="", alert=alert))
    assert ctx.docs[0].doc_id == "deploy-5xx-spike"
    assert len(ctx.chunks) == 3
    assert ctx.entities.namespace == "shop" and ctx.entities.deployment == "checkout"
    assert "HighHTTP5xxRate" in ctx.query and "checkout 5xx above 2%" in ctx.query


def test_empty_request_without_alert_retrieves_nothing() -> None:
    retriever = FakeRetriever([deploy_5xx_doc()])
    ctx = ContextBuilder(retriever).build(PlanRequest(text="  "))
    assert ctx.chunks == [] and ctx.docs == [] and retriever.queries == []


def test_build_query_joins_request_and_alert_text() -> None:
    alert = Alert(labels={"alertname": "X"}, annotations={"summary": "s", "description": "d"})
    assert build_query(PlanRequest(text="help", alert=alert)) == "help X s d"
