"""Command -> tool mapping on real command lines from the openshift corpus and knowledge/."""
# ruff: noqa: E501 - a table of real command lines reads best one row per line

from __future__ import annotations

from pathlib import Path

import pytest

from copilot.catalog import Catalog
from copilot.retrieval.command_map import CommandMapper
from copilot.retrieval.shell import ShellCommand, split_command_line

OPENSHIFT = "openshift"
KNOWLEDGE = "knowledge"
NO_TOOL = None

# (source, command line as written in the runbook, expected tool or None, expected args)
TABLE: list[tuple[str, str, str | None, dict[str, object]]] = [
    (OPENSHIFT, "oc get pod -n $NAMESPACE $POD", "describe_pod", {"namespace": "$NAMESPACE", "pod": "$POD"}),
    (OPENSHIFT, "oc logs -n $NAMESPACE $POD", "get_logs", {"namespace": "$NAMESPACE", "pod": "$POD"}),
    (OPENSHIFT, "oc -n \"$NS\" get -o wide pods", "list_pods", {"namespace": "$NAMESPACE"}),
    (OPENSHIFT, "oc adm cordon \"$NODE\"", "cordon_node", {"node": "$NODE"}),
    (OPENSHIFT, "oc adm uncordon \"$NODE\"", "uncordon_node", {"node": "$NODE"}),
    (OPENSHIFT, "oc delete -n \"$NS\" pod \"$POD\"", "delete_pod", {"namespace": "$NAMESPACE", "pod": "$POD"}),
    (OPENSHIFT, "oc logs -f deployment/metrics-collector-deployment -n open-cluster-management-observability",
     "get_logs", {"workload": "deployment/metrics-collector-deployment",
                  "namespace": "open-cluster-management-observability"}),
    (OPENSHIFT, "oc logs -n openshift-monitoring prometheus-k8s-0 -c kube-rbac-proxy", "get_logs",
     {"namespace": "openshift-monitoring", "pod": "prometheus-k8s-0", "container": "kube-rbac-proxy"}),
    (OPENSHIFT, "oc get pods -n openshift-monitoring -l app.kubernetes.io/name=prometheus", "list_pods",
     {"namespace": "openshift-monitoring", "selector": "app.kubernetes.io/name=prometheus"}),
    (OPENSHIFT, "oc scale deployment observability-observatorium-api -n open-cluster-management-observability "
                "--replicas=2", "scale_deployment",
     {"deployment": "observability-observatorium-api", "namespace": "open-cluster-management-observability",
      "replicas": 2}),
    (OPENSHIFT, "oc scale deployment metrics-collector-deployment -n open-cluster-management-observability "
                "--replicas=0", "scale_deployment", {"deployment": "metrics-collector-deployment", "replicas": 0}),
    (OPENSHIFT, "oc delete pod -n open-cluster-management-observability observability-thanos-compact-0",
     "delete_pod", {"pod": "observability-thanos-compact-0", "namespace": "open-cluster-management-observability"}),
    (OPENSHIFT, "oc logs -n open-cluster-management-observability observability-thanos-compact-0 --tail=50 -f",
     "get_logs", {"pod": "observability-thanos-compact-0", "tail_lines": 50}),
    (OPENSHIFT, "oc get events -n openshift-kube-controller-manager", "get_events",
     {"namespace": "openshift-kube-controller-manager"}),
    (OPENSHIFT, "oc get events -n $NS", "get_events", {"namespace": "$NAMESPACE"}),
    (OPENSHIFT, "oc get pods -n $NS --selector=\"app=myapp\"", "list_pods",
     {"namespace": "$NAMESPACE", "selector": "app=myapp"}),
    (OPENSHIFT, "oc logs <POD_NAME> -n <NAMESPACE>", "get_logs", {"pod": "$POD_NAME", "namespace": "$NAMESPACE"}),
    (OPENSHIFT, "oc describe pod <POD_NAME> -n openshift-logging", "describe_pod",
     {"pod": "$POD_NAME", "namespace": "openshift-logging"}),
    (OPENSHIFT, "oc delete pod <POD_NAME> -n openshift-logging", "delete_pod",
     {"pod": "$POD_NAME", "namespace": "openshift-logging"}),
    (OPENSHIFT, "oc describe node <NODE_NAME>", "describe_node", {"node": "$NODE_NAME"}),
    (OPENSHIFT, "oc get node $NODE -o yaml", "describe_node", {"node": "$NODE"}),
    (OPENSHIFT, "oc get -n openshift-machine-api events", "get_events", {"namespace": "openshift-machine-api"}),
    (OPENSHIFT, "oc get events", "get_events", {"namespace": "$NAMESPACE"}),
    (OPENSHIFT, "oc logs deployment/prometheus-operator -c prometheus-operator -n openshift-user-workload-monitoring",
     "get_logs", {"workload": "deployment/prometheus-operator", "container": "prometheus-operator",
                  "namespace": "openshift-user-workload-monitoring"}),
    (OPENSHIFT, "oc logs statefulset/prometheus-k8s -n openshift-monitoring", "get_logs",
     {"workload": "statefulset/prometheus-k8s", "namespace": "openshift-monitoring"}),
    (OPENSHIFT, "oc logs -n openshift-monitoring deployment.apps/telemeter-client -c telemeter-client -f",
     "get_logs", {"workload": "deployment.apps/telemeter-client", "container": "telemeter-client"}),
    (OPENSHIFT, "oc describe pod/<podname> -n openshift-ovn-kubernetes", "describe_pod",
     {"pod": "$PODNAME", "namespace": "openshift-ovn-kubernetes"}),
    (OPENSHIFT, "oc logs <podname> -n openshift-ovn-kubernetes -c <container>", "get_logs",
     {"pod": "$PODNAME", "container": "$CONTAINER"}),
    (OPENSHIFT, "oc describe po -n openshift-ovn-kubernetes ${pod}", "describe_pod",
     {"pod": "$POD", "namespace": "openshift-ovn-kubernetes"}),
    (OPENSHIFT, "oc logs -n openshift-cluster-version deployment/cluster-version-operator --container "
                "cluster-version-operator", "get_logs",
     {"workload": "deployment/cluster-version-operator", "container": "cluster-version-operator"}),
    (OPENSHIFT, "oc get events -n openshift-cluster-version --sort-by=.metadata.creationTimestamp", "get_events",
     {"namespace": "openshift-cluster-version"}),
    (OPENSHIFT, "oc -n openshift-machine-config-operator logs $CONTROLLERPOD -c machine-config-controller",
     "get_logs", {"pod": "$CONTROLLERPOD", "container": "machine-config-controller"}),
    (OPENSHIFT, "oc delete pod <pod-name> --force=true --grace-period=0", "delete_pod",
     {"pod": "$POD_NAME", "namespace": "$NAMESPACE"}),
    (OPENSHIFT, "oc rollout restart deployment rook-ceph-operator -n <namespace>", "restart_deployment",
     {"deployment": "rook-ceph-operator", "namespace": "$NAMESPACE"}),
    (OPENSHIFT, "oc get events --field-selector involvedObject.name=$ocs_operator --namespace openshift-storage",
     "get_events", {"namespace": "openshift-storage"}),
    (OPENSHIFT, "oc logs $POD -n <namespace> -c compute --previous", "get_logs",
     {"pod": "$POD", "container": "compute", "previous": True}),
    (OPENSHIFT, "oc top node <node-name>", "describe_node", {"node": "$NODE_NAME"}),
    (OPENSHIFT, "oc drain <node-name> --ignore-daemonsets --delete-emptydir-data", "drain_node",
     {"node": "$NODE_NAME"}),
    (OPENSHIFT, "oc uncordon <node-name>", "uncordon_node", {"node": "$NODE_NAME"}),
    (OPENSHIFT, "oc -n $NAMESPACE rollout restart deployment virt-controller", "restart_deployment",
     {"deployment": "virt-controller", "namespace": "$NAMESPACE"}),
    (OPENSHIFT, "oc -n $NAMESPACE logs <virt-handler-pod-name> --previous", "get_logs",
     {"pod": "$VIRT_HANDLER_POD_NAME", "previous": True}),
    (OPENSHIFT, "promtool query instant http://localhost:9090  'container_runtime_crio_default_runtime{runtime=\"runc\"}'",
     "get_metrics", {"query": "container_runtime_crio_default_runtime{runtime=\"runc\"}"}),
    (OPENSHIFT, "oc -n <my-namespace> delete pod `oc -n <my-namespace> get pod -ojson | jq -r '.items[]'`",
     "delete_pod", {"pod": "$POD", "namespace": "$MY_NAMESPACE"}),
    (OPENSHIFT, "oc get nodes --o custom-columns=NAME:.metadata.name", NO_TOOL, {}),
    (OPENSHIFT, "oc debug node/<node-name>", NO_TOOL, {}),
    (OPENSHIFT, "oc get nodes", NO_TOOL, {}),
    (OPENSHIFT, "oc -n $NAMESPACE describe deploy virt-api", NO_TOOL, {}),
    (OPENSHIFT, "oc edit hyperconverged -n openshift-cnv kubevirt-hyperconverged -o yaml", NO_TOOL, {}),
    (OPENSHIFT, "ceph osd pool set-quota <pool> max_bytes <bytes>", NO_TOOL, {}),
    (OPENSHIFT, "oc logs -l app=etcd-operator -n openshift-etcd-operator --tail=-1", NO_TOOL, {}),
    (KNOWLEDGE, "kubectl -n $NAMESPACE describe pod $POD", "describe_pod", {"namespace": "$NAMESPACE", "pod": "$POD"}),
    (KNOWLEDGE, "kubectl -n $NAMESPACE logs $POD --previous --tail=200", "get_logs",
     {"pod": "$POD", "previous": True, "tail_lines": 200}),
    (KNOWLEDGE, "kubectl -n $NAMESPACE rollout undo deployment/$DEPLOYMENT --to-revision=<revision>",
     "rollback_deployment", {"deployment": "$DEPLOYMENT", "to_revision": "$REVISION"}),
    (KNOWLEDGE, "kubectl -n $NAMESPACE rollout history deployment/$DEPLOYMENT", "get_rollout_history",
     {"namespace": "$NAMESPACE", "deployment": "$DEPLOYMENT"}),
    (KNOWLEDGE, "kubectl -n $NAMESPACE logs $POD --since=15m", "get_logs", {"since": "15m"}),
    (KNOWLEDGE, "kubectl -n $NAMESPACE events --for pod/$POD", "get_events", {"object": "pod/$POD"}),
    (KNOWLEDGE, "kubectl -n $NAMESPACE logs job/$JOB_NAME", "get_logs", {"workload": "job/$JOB_NAME"}),
    (KNOWLEDGE, "kubectl -n $NAMESPACE delete job $JOB_NAME", "delete_job", {"job": "$JOB_NAME"}),
    (KNOWLEDGE, "kubectl -n $NAMESPACE patch hpa $HPA --patch '{\"spec\":{\"maxReplicas\":<new-max>}}'",
     "update_hpa", {"hpa": "$HPA", "max_replicas": "$NEW_MAX"}),
    (KNOWLEDGE, "kubectl -n $NAMESPACE patch pvc $PVC -p "
                "'{\"spec\":{\"resources\":{\"requests\":{\"storage\":\"<new-size>\"}}}}'",
     "resize_pvc", {"pvc": "$PVC", "size": "$NEW_SIZE"}),
    (KNOWLEDGE, "kubectl -n $NAMESPACE scale deployment/$DEPLOYMENT --replicas=<n>", "scale_deployment",
     {"deployment": "$DEPLOYMENT", "replicas": "$N"}),
    (KNOWLEDGE, "kubectl drain $NODE --ignore-daemonsets --delete-emptydir-data --timeout=10m", "drain_node",
     {"node": "$NODE"}),
    (KNOWLEDGE, "amtool alert query severity=critical", "get_active_alerts", {"matchers": ["severity=critical"]}),
    (KNOWLEDGE, "amtool silence add alertname=$ALERTNAME instance=$INSTANCE --duration=2h "
                "--comment=\"Planned maintenance on $INSTANCE\"", "silence_alert",
     {"matchers": ["alertname=$ALERTNAME", "instance=$INSTANCE"], "duration": "2h",
      "comment": "Planned maintenance on $INSTANCE"}),
    (KNOWLEDGE, "patronictl -c /etc/patroni/patroni.yml failover $CLUSTER --candidate <member> --force",
     "failover_database", {"cluster": "$CLUSTER", "target_member": "$MEMBER"}),
    (KNOWLEDGE, "patronictl -c /etc/patroni/patroni.yml list $CLUSTER", NO_TOOL, {}),
    (KNOWLEDGE, "aws lambda put-function-concurrency --function-name $FUNCTION --reserved-concurrent-executions 10",
     "set_function_concurrency", {"function": "$FUNCTION", "concurrency": 10}),
    (KNOWLEDGE, "aws lambda get-function-concurrency --function-name $FUNCTION", NO_TOOL, {}),
    (KNOWLEDGE, "psql -h $HOST -d $DATABASE -c \"SELECT pg_terminate_backend($QUERY_ID);\"", "kill_query",
     {"database": "$DATABASE", "query_id": "$QUERY_ID", "host": "$HOST"}),
    (KNOWLEDGE, "curl -X POST \"https://api.cloudflare.com/client/v4/zones/$ZONE_ID/purge_cache\" "
                "-H \"Authorization: Bearer $CF_API_TOKEN\" --data '{\"files\":[\"/index.html\"]}'",
     "purge_cdn_cache", {"zone": "$ZONE_ID"}),
    (KNOWLEDGE, "curl -X PATCH \"https://flags.internal/api/v1/flags/$FLAG\" -d '{\"enabled\": false}'",
     "set_feature_flag", {"flag": "$FLAG", "enabled": False}),
    (KNOWLEDGE, "vault write -f database/rotate-role/$SECRET", "rotate_secret",
     {"secret": "$SECRET", "system": "vault"}),
    (KNOWLEDGE, "curl -sI https://origin.example.com/index.html", NO_TOOL, {}),
    (KNOWLEDGE, "kubectl -n $NAMESPACE get pvc $PVC", NO_TOOL, {}),
]


@pytest.fixture(scope="module")
def mapper(catalog: Catalog) -> CommandMapper:
    return CommandMapper(catalog)


def _map(mapper: CommandMapper, line: str):
    segments = split_command_line(line)
    return mapper.map(ShellCommand(segments[0][0], segments[0][1], 1))


@pytest.mark.parametrize(("source", "line", "tool", "args"), TABLE, ids=[row[1][:60] for row in TABLE])
def test_real_command_maps_to_expected_tool(mapper: CommandMapper, source: str, line: str, tool: str | None,
                                            args: dict[str, object]) -> None:
    call = _map(mapper, line)
    if tool is None:
        assert call is None, f"expected no tool, got {call}"
        return
    assert call is not None, f"{line!r} should map to {tool}"
    assert call.tool == tool
    for key, value in args.items():
        assert call.args.get(key) == value, (key, call.args)


def test_table_is_large_and_real(shared_dir: Path) -> None:
    assert len(TABLE) >= 40
    corpus = "\n".join(p.read_text() for p in (shared_dir / "data/runbooks/openshift").rglob("*.md"))
    flattened = " ".join(corpus.split())
    for source, line, _, _ in TABLE:
        if source == OPENSHIFT:
            head = " ".join(line.split())[:40]
            assert head in flattened, f"not found in the openshift corpus: {line!r}"


def test_mapped_args_validate_against_the_catalog_once_bound(mapper: CommandMapper, catalog: Catalog) -> None:
    """Every candidate call, with placeholders bound to plausible values, is a valid catalog call."""
    bound_values = {"str": "x", "int": 3, "bool": True, "duration": "5m", "cidr": "10.0.0.1/32", "size": "10Gi",
                    "list[str]": ["a"], "matchers": ["alertname=X"]}
    for _, line, tool, _ in TABLE:
        call = _map(mapper, line)
        if call is None:
            continue
        spec = catalog.get(call.tool)
        args = {k: (bound_values[spec.arg(k).type] if str(v).startswith("$") else v)  # type: ignore[union-attr]
                for k, v in call.args.items()}
        catalog.validate_args(call.tool, args)


@pytest.mark.parametrize(("words", "argv", "expected"), [
    (["kubectl|oc", "get", "pods|pod|po"], ["oc", "get", "pods", "-o", "wide"], True),
    (["kubectl|oc", "get", "pods|pod|po"], ["oc", "get", "pods", "extra"], False),
    (["amtool", "alert", "query", "{matchers...}"], ["amtool", "alert", "query"], True),
])
def test_word_count_and_rest_slot(catalog: Catalog, words: list[str], argv: list[str], expected: bool) -> None:
    from copilot.catalog import Catalog as CatalogType
    from copilot.domain import ArgSpec, CommandPattern, ToolSpec

    spec = ToolSpec(name="t", toolset="x", description="d", mutating=False, risk="low",
                    args=(ArgSpec(name="matchers", type="matchers", required=False),),
                    commands=(CommandPattern(words=tuple(words)),))
    call = CommandMapper(CatalogType([spec])).map(ShellCommand(" ".join(argv), tuple(argv), 1))
    assert (call is not None) is expected
