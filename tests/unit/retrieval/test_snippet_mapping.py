"""Runbook snippets in styles public runbooks use -> candidate calls (alert templates, indented code
blocks, spaced <angle placeholders>, psql prompts and SQL blocks). Snippets written for these tests."""

from __future__ import annotations

import pytest

from copilot.catalog import Catalog
from copilot.retrieval.command_map import CommandMapper
from copilot.retrieval.placeholders import normalize_placeholders, normalize_templates
from copilot.retrieval.shell import commands_in_markdown, split_command_line


@pytest.fixture(scope="module")
def mapper(catalog: Catalog) -> CommandMapper:
    return CommandMapper(catalog)


def _calls(mapper: CommandMapper, snippet: str) -> list[tuple[int, str, dict[str, object]]]:
    commands = commands_in_markdown(snippet.split("\n"))
    return [(call.line, call.tool, dict(call.args)) for call in mapper.map_all(commands)]


@pytest.mark.parametrize(("text", "expected"), [
    ("{{ $labels.namespace }}", "$NAMESPACE"),
    ("{{$labels.pod}}", "$POD"),
    ("{{- $labels.job_name -}}", "$JOB_NAME"),
    ("{{ .Labels.instance }}", "$INSTANCE"),
    ("{{ .CommonLabels.service }}", "$SERVICE"),
    ("$labels.node", "$NODE"),
    ("{{ pod_name }}", "$POD_NAME"),
    ("ns-{{ $labels.namespace }}-x", "ns-$NAMESPACE-x"),
    ("{{range .items}}{{.metadata.name}}{{end}}", "{{range .items}}{{.metadata.name}}{{end}}"),
    ("{{ end }}", "{{ end }}"),
    ("price$labels.x", "price$labels.x"),
])
def test_templates_become_placeholders(text: str, expected: str) -> None:
    assert normalize_templates(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("<cluster ID>", "$CLUSTER_ID"),
    ("klusterlet-<cluster ID>", "klusterlet-$CLUSTER_ID"),
    ("pod/<pod name>", "pod/$POD_NAME"),
    ("a < b and c > d", "a < b and c > d"),
    ("{{ .Labels.pod }}", "$POD"),
])
def test_spaced_angle_and_template_placeholders(text: str, expected: str) -> None:
    assert normalize_placeholders(text) == expected


@pytest.mark.parametrize(("line", "argv"), [
    ("kubectl -n {{ $labels.namespace }} logs {{ $labels.pod }}",
     ("kubectl", "-n", "$NAMESPACE", "logs", "$POD")),
    ("oc describe pod {{$labels.pod}} -n {{$labels.namespace}}",
     ("oc", "describe", "pod", "$POD", "-n", "$NAMESPACE")),
    ("kubectl get pods -o go-template='{{range .items}}{{.metadata.name}} {{end}}'",
     ("kubectl", "get", "pods", "-o", "go-template={{range .items}}{{.metadata.name}} {{end}}")),
])
def test_templates_stay_one_word_when_split(line: str, argv: tuple[str, ...]) -> None:
    assert split_command_line(line)[0][1] == argv


ALERT_TEMPLATE = """# KubeJobFailed

```shell
kubectl -n {{ $labels.namespace }} logs {{ $labels.pod }}
kubectl describe pod {{ .Labels.pod }} --namespace {{ .Labels.namespace }}
kubectl -n $labels.namespace delete job $labels.job_name
```
"""

INDENTED = """# Disk pressure

## Diagnosis

Look at the node first:

    kubectl describe node <node name>
    kubectl -n monitoring logs prometheus-0 -c prometheus

Output looks like:

    Conditions:
      DiskPressure   True

Then cordon it
    kubectl cordon not-a-code-block-this-is-a-lazy-line

- Drain the node when it is safe:

    kubectl is how you talk to the cluster; this is the item's own text

- Or, as a real code block inside the item:

        kubectl drain <node name> --ignore-daemonsets

## Mitigation
    kubectl uncordon $NODE
"""

PSQL = """# Blocking queries

Find the blocker, then:

```
app_db=# select pg_cancel_backend(<pid>);
 pg_cancel_backend
-------------------
 t
postgres=> SELECT pg_terminate_backend(48213);
```

```sql
-- sessions idle in transaction for an hour
SELECT pid, state FROM pg_stat_activity;
SELECT pg_terminate_backend($PID);
SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE state = 'idle';
```

```bash
echo "pg_terminate_backend(1) is not run from here"
```
"""

SNIPPETS = [
    ("alert templates", ALERT_TEMPLATE, [
        (4, "get_logs", {"namespace": "$NAMESPACE", "pod": "$POD"}),
        (5, "describe_pod", {"namespace": "$NAMESPACE", "pod": "$POD"}),
        (6, "delete_job", {"namespace": "$NAMESPACE", "job": "$JOB_NAME"}),
    ]),
    ("indented blocks", INDENTED, [
        (7, "describe_node", {"node": "$NODE_NAME"}),
        (8, "get_logs", {"namespace": "monitoring", "pod": "prometheus-0", "container": "prometheus"}),
        (24, "drain_node", {"node": "$NODE_NAME"}),
        (27, "uncordon_node", {"node": "$NODE"}),
    ]),
    ("psql prompts and sql blocks", PSQL, [
        (6, "kill_query", {"query_id": "$PID", "database": "$DATABASE"}),
        (10, "kill_query", {"query_id": "48213", "database": "$DATABASE"}),
        (16, "kill_query", {"query_id": "$PID", "database": "$DATABASE"}),
    ]),
]


@pytest.mark.parametrize(("name", "snippet", "expected"), SNIPPETS, ids=[row[0] for row in SNIPPETS])
def test_snippet_candidate_calls(mapper: CommandMapper, name: str, snippet: str,
                                 expected: list[tuple[int, str, dict[str, object]]]) -> None:
    calls = _calls(mapper, snippet)
    assert [(line, tool) for line, tool, _ in calls] == [(line, tool) for line, tool, _ in expected]
    for (_, _, args), (_, _, wanted) in zip(calls, expected, strict=True):
        assert {key: args.get(key) for key in wanted} == wanted


def test_psql_command_keeps_the_line_as_written(mapper: CommandMapper) -> None:
    commands = commands_in_markdown(PSQL.split("\n"))
    assert commands[0].text == "app_db=# select pg_cancel_backend(<pid>);"
    assert commands[0].argv == ("psql", "-c", "select pg_cancel_backend(<pid>);")


def test_indented_output_and_list_prose_are_not_commands() -> None:
    lines = [c.line for c in commands_in_markdown(INDENTED.split("\n"))]
    assert lines == [7, 8, 24, 27]


@pytest.mark.parametrize("snippet", [
    "Some prose\n    kubectl get pods\n",              # a lazy continuation line, not a code block
    "\n    echo hello\n    ls -la\n",                  # indented, but not a known program
    "1. Step one\n\n    kubectl get pods\n",           # the list item's own paragraph
])
def test_conservative_indented_blocks(snippet: str) -> None:
    assert commands_in_markdown(snippet.split("\n")) == []


EXEC = """# Postgres failover

```bash
kubectl exec -it pg-0 -n db -- patronictl failover $CLUSTER --candidate pg-1 --force
kubectl -n db exec pg-0 -c postgres -- psql -d app -c "SELECT pg_terminate_backend(4242);"
oc exec -it mypod -- bash
```
"""


def test_command_run_inside_a_pod_maps_on_its_own(mapper: CommandMapper) -> None:
    calls = _calls(mapper, EXEC)
    assert [(line, tool) for line, tool, _ in calls] == [(4, "failover_database"), (5, "kill_query")]
    assert calls[0][2]["cluster"] == "$CLUSTER" and calls[0][2]["target_member"] == "pg-1"
    assert calls[1][2] == {"database": "app", "query_id": "4242"}


def test_tab_indented_block_is_code() -> None:
    assert [c.argv for c in commands_in_markdown("Run:\n\n\tkubectl get pods -n x\n".split("\n"))] == [
        ("kubectl", "get", "pods", "-n", "x")]
