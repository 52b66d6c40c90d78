"""Pure parsing pieces: shell extraction, placeholders, front matter, alert names, sections, tokenizer."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from copilot.retrieval.bm25 import BM25Index
from copilot.retrieval.hybrid import humanize
from copilot.retrieval.lexicon import stem, tokenize
from copilot.retrieval.markdown import (
    RunbookError,
    infer_alert_names,
    parse_runbook,
    split_front_matter,
)
from copilot.retrieval.placeholders import normalize_placeholders
from copilot.retrieval.shell import commands_in_markdown, split_command_line


@pytest.mark.parametrize(("value", "bare", "expected"), [
    ("$NAMESPACE", False, "$NAMESPACE"),
    ("${NAMESPACE}", False, "$NAMESPACE"),
    ("<namespace>", False, "$NAMESPACE"),
    ("<NAMESPACE>", False, "$NAMESPACE"),
    ("{{ $labels.namespace }}", False, "$NAMESPACE"),
    ("<pod-name>", False, "$POD_NAME"),
    ("$POD_NAME", False, "$POD_NAME"),
    ("$pvcName", False, "$PVC_NAME"),
    ("$NS", False, "$NAMESPACE"),
    ("NAMESPACE", True, "$NAMESPACE"),
    ("NAMESPACE", False, "NAMESPACE"),
    ("OPS", False, "OPS"),
    ("pod/${MYPOD}", False, "pod/$MYPOD"),
    ('sum(rate(x{service="$SERVICE"}[5m])) > 0.02', False, 'sum(rate(x{service="$SERVICE"}[5m])) > 0.02'),
    ("checkout", True, "checkout"),
])
def test_placeholders(value: str, bare: bool, expected: str) -> None:
    assert normalize_placeholders(value, bare_caps=bare) == expected


@pytest.mark.parametrize(("line", "expected"), [
    ("oc get pods -n x | grep mgr", [("oc", "get", "pods", "-n", "x"), ("grep", "mgr")]),
    ("a && b; c || d", [("a",), ("b",), ("c",), ("d",)]),
    ("oc logs -n x \"$POD\" 2>&1 > /tmp/out", [("oc", "logs", "-n", "x", "$POD")]),
    ("oc rsh $(oc get pods -o name | head -1)", [("oc", "rsh", "$(oc get pods -o name | head -1)")]),
    ("sudo KUBECONFIG=/k kubectl get nodes  # comment", [("kubectl", "get", "nodes")]),
    ("oc logs <pod-name> -c <container name>", [("oc", "logs", "<pod-name>", "-c", "<container name>")]),
    ("kubectl patch x -p '{\"a\": 1}'", [("kubectl", "patch", "x", "-p", '{"a": 1}')]),
])
def test_split_command_line(line: str, expected: list[tuple[str, ...]]) -> None:
    assert [argv for _, argv in split_command_line(line)] == expected


MARKDOWN = """# T

Run `oc get pods -n foo` first, then read `the logs`.

```console
$ oc get pods -n "$NAMESPACE" \\
    -l app=x
NAME    READY
pod-1   1/1
$ oc logs -n x <pod-name> -c prometheus
```

```
oc describe node <node-name>
NAME   STATUS
```

```text
 - alertname = KubePodNotReady
```

```bash
# a comment
systemctl restart kubelet
```
"""


def test_commands_in_markdown_skip_output_and_keep_lines() -> None:
    found = [(c.text, c.line) for c in commands_in_markdown(MARKDOWN.split("\n"))]
    assert found == [
        ("oc get pods -n foo", 3),
        ('oc get pods -n "$NAMESPACE"  -l app=x', 6),
        ("oc logs -n x <pod-name> -c prometheus", 10),
        ("oc describe node <node-name>", 14),
        ("systemctl restart kubelet", 24),
    ]


@given(st.text(max_size=200))
def test_shell_lexer_never_crashes(text: str) -> None:
    for segment, argv in split_command_line(text):
        assert isinstance(segment, str) and all(isinstance(a, str) for a in argv)


@pytest.mark.parametrize(("stem_", "title", "expected"), [
    ("KubePodCrashLooping", "KubePodCrashLooping", ("KubePodCrashLooping",)),
    ("ACMRemoteWriteError", "ACMRemoteWriteError", ("ACMRemoteWriteError",)),
    ("etcdNoLeader", "etcdNoLeader", ("etcdNoLeader",)),
    ("accessToolbox", "Access the Toolbox", ()),
    ("example", "NodeFilesystemSpaceFillingUp", ("NodeFilesystemSpaceFillingUp",)),
    ("MachineConfigDaemonPivotError", "MCDPivotError", ("MachineConfigDaemonPivotError", "MCDPivotError")),
    ("README", "Alerts Hierarchy", ()),
    ("deploy-5xx-spike", "5xx spike after a deploy", ()),
])
def test_alert_names_inferred(stem_: str, title: str, expected: tuple[str, ...]) -> None:
    assert infer_alert_names(stem_, title) == expected


def test_front_matter_and_sections_with_line_ranges() -> None:
    text = ("---\nid: my-runbook\nalerts: [HighErrors]\nservices: [api]\nrisk: high\nsteps:\n"
            "  - {tool: get_logs, phase: diagnose,\n"
            "     args: {namespace: <namespace>, pod: '{{ $labels.pod }}'}}\n"
            "---\n# My runbook\n\nIntro line.\n\n## Meaning\n\nErrors.\n\n## Diagnosis\n\n### Logs\n\n"
            "```bash\n# not a heading\nkubectl logs x\n```\n")
    doc, lines = parse_runbook(text, "team/my.md")
    assert (doc.doc_id, doc.title, doc.alert_names, doc.services, doc.risk) == (
        "my-runbook", "My runbook", ("HighErrors",), ("api",), "high")
    assert doc.steps[0].args == {"namespace": "$NAMESPACE", "pod": "$POD"}
    assert [(c.section, c.heading_path, c.line_start, c.line_end) for c in doc.chunks] == [
        ("Overview", ("My runbook",), 10, 12),
        ("Meaning", ("My runbook", "Meaning"), 14, 16),
        ("Diagnosis", ("My runbook", "Diagnosis", "Logs"), 20, 25),
    ]
    assert doc.chunks[2].text.endswith("kubectl logs x\n```")


def test_long_section_is_split_at_blank_lines_outside_code() -> None:
    paragraphs = "\n\n".join(f"Paragraph {i} " + "word " * 60 for i in range(12))
    doc, _ = parse_runbook(f"# Long\n\n## Meaning\n\n{paragraphs}\n", "Long.md")
    assert len(doc.chunks) >= 3
    assert all(len(c.text) <= 1600 for c in doc.chunks)
    assert all(c.section == "Meaning" for c in doc.chunks)
    ends = [(c.line_start, c.line_end) for c in doc.chunks]
    assert all(a[1] < b[0] for a, b in zip(ends, ends[1:], strict=False))


@pytest.mark.parametrize("text", ["---\nalerts: [A\n---\n", "---\nx: 1\n", "---\n- a\n---\n"])
def test_broken_front_matter_raises(text: str) -> None:
    with pytest.raises(RunbookError):
        split_front_matter(text)


@pytest.mark.parametrize("front", [
    "steps:\n  - {tool: drain_node, args: [1]}", "steps:\n  - {tool: drain_node, args: node-1}",
    "steps:\n  - {tool: drain_node, args: 5}", "risk: [1]", "steps: 5",
])
def test_malformed_front_matter_values_raise_a_clear_error(front: str) -> None:
    with pytest.raises(RunbookError):
        parse_runbook(f"---\n{front}\n---\n# T\n\n## Fix\n\ntext\n", "t.md")


@pytest.mark.parametrize(("text", "expected"), [
    ("KubePodCrashLooping", ["kubepodcrashloop", "kube", "pod", "crash", "loop"]),
    ("ACMRemoteWriteError", ["acmremotewriteerror", "acm", "remot", "write", "error"]),
    ("pods are crashing", ["pod", "crash"]),
    ("certificates expiring", ["certificat", "expir"]),
    ("prom svc on k8s", ["prometheus", "servic", "kubernet"]),
    # the whole CamelCase name is stemmed like a plain word, so a lowercase query meets it
    ("CoreDNS", ["coredn", "core", "dns"]), ("coredns", ["coredn"]),
])
def test_tokenizer(text: str, expected: list[str]) -> None:
    assert tokenize(text) == expected


@pytest.mark.parametrize(("word", "expected"), [
    ("running", "run"), ("stopped", "stop"), ("pods", "pod"), ("status", "status"), ("replicas", "replica"),
    ("filling", "fill"), ("ran", "run"), ("dns", "dns"), ("p99", "p99"), ("boxes", "box"),
])
def test_stem(word: str, expected: str) -> None:
    assert stem(word) == expected


@pytest.mark.parametrize("forms", [
    ("node", "nodes"), ("cache", "caches", "caching", "cached"), ("degrade", "degraded", "degrades"),
    ("policy", "policies"), ("retry", "retries", "retried"), ("frame", "frames"), ("image", "images"),
    ("service", "services"), ("route", "routes", "routing"), ("bounce", "bounces", "bouncing"),
    ("fire", "fires", "firing", "fired"), ("time", "timing", "timed"), ("file", "files", "filing"),
    ("size", "sizing"), ("write", "writes", "writing"), ("plan", "planned", "planning"),
])
def test_stem_folds_the_forms_of_one_word_together(forms: tuple[str, ...]) -> None:
    assert len({stem(word) for word in forms}) == 1, {word: stem(word) for word in forms}


@pytest.mark.parametrize(("word", "other"), [
    ("plane", "planned"), ("state", "stats"), ("gone", "go"), ("went", "go"), ("node", "nod"),
])
def test_stem_keeps_different_words_apart(word: str, other: str) -> None:
    assert stem(word) != stem(other)


def test_bm25_prefers_the_matching_document() -> None:
    index = BM25Index([tokenize("etcd has no leader"), tokenize("disk is full on the node"), []])
    scores = index.scores(tokenize("node disk full"))
    assert scores.argmax() == 1 and scores[2] == 0


@pytest.mark.parametrize(("name", "expected"), [
    ("KubePodCrashLooping", "Kube Pod Crash Looping"), ("ACMRemoteWriteError", "ACM Remote Write Error"),
    ("5xx spike after a deploy", "5xx spike after a deploy"), ("Watchdog", "Watchdog"),
])
def test_humanize(name: str, expected: str) -> None:
    assert humanize(name) == expected
