"""Names in a chat request: "roll back checkout in shop", "cordon node worker-3", "block 203.0.113.7".

Patterns are compiled once. A candidate that is a common English word is ignored,
so "in production" or "the node is down" bind nothing.
"""

from __future__ import annotations

import re

from copilot.planning.names import as_cidr, looks_like_pod_name, workload_from_pod

# A name ends where a word ends: "shöp" is not the name "sh".
_NAME = r"([a-z0-9][a-z0-9._-]*[a-z0-9]|[a-z0-9])(?![^\W_])"
# A link's path ("https://wiki/namespace/prod-payments") names no target.
_URL = re.compile(r"\b(?:[a-z][a-z0-9+.-]*://|www\.)\S+", re.IGNORECASE)
_COMMON_WORDS = frozenset(
    """a an the this that these those it its is are was were be been being of to for from on at by with
    without in into onto out over under up down off again all any some every each no not our my your their
    his her we us you they them he she me i please now right just still also too very so then than there here
    what which who whom whose when where why how help me can could would should will may might must
    do does did done doing have has had after before since until while because if else again back
    latest last previous
    current prod production staging stage dev development test cluster node pod pods nodes service services
    namespace namespaces deployment deployments app apps job jobs container database db secret zone flag
    function one two three four five six seven eight nine ten minutes minute hours hour days day seconds
    errors error issue issues problem problems incident alert alerts traffic load latency memory cpu disk
    replicas replica instance instances everything something nothing anything whole entire same other
    again asap immediately quickly today yesterday tonight mins min ago leaked leak exposed compromised
    scanning found
    restart rollback roll revert rotate revoke drain cordon uncordon delete remove kill block unblock scale
    purge disable enable toggle flip bounce redeploy undo silence mute expand grow resize failover cancel
    terminate stop start suspend resume pause check investigate describe inspect show list get look see
    fix run rerun retry page notify open create file
    credential credentials token tokens key keys password passwords apikey""".split()
)

# entity -> patterns whose group 1 is the name; earlier patterns win.
_PATTERNS: dict[str, tuple[str, ...]] = {
    "namespace": (
        rf"\b(?:namespace|ns|project)[\s:=/]+{_NAME}", rf"\b{_NAME}\s+(?:namespace|project)\b",
        rf"(?:^|\s)(?:-n|--namespace)[\s=]+{_NAME}",
        rf"\bin\s+(?:the\s+)?{_NAME}\b(?!\s+(?:deployment|node|pod))",
    ),
    "pod": (rf"\bpod[\s:=/]+{_NAME}", rf"\b{_NAME}\s+pod\b"),
    "deployment": (
        rf"\b(?:deployment|statefulset|daemonset|workload)[\s:=/]+{_NAME}", rf"\bdeploy/{_NAME}",
        rf"\b{_NAME}\s+(?:deployment|statefulset|daemonset)\b",
        rf"\b(?:roll\s*back|revert|restart|bounce|scale(?:\s+(?:up|down|out|in))?|redeploy|undo)\s+"
        rf"(?:the\s+)?(?:deployment\s+|deploy\s+)?{_NAME}",
        rf"\broll\s+{_NAME}\s+back\b",
    ),
    "node": (
        rf"\bnode[\s:=/]+{_NAME}", rf"\b(?:cordon|uncordon|drain|evacuate)\s+(?:the\s+)?(?:node\s+)?{_NAME}",
        rf"\b{_NAME}\s+node\b",
    ),
    "service": (rf"\bservice[\s:=/]+{_NAME}", rf"\b{_NAME}\s+service\b", rf"\bsvc[\s:=/]+{_NAME}"),
    "cluster": (rf"\bcluster[\s:=/]+{_NAME}", rf"\b{_NAME}\s+(?:db\s+|database\s+|postgres\s+)?cluster\b"),
    "pvc": (rf"\b(?:pvc|persistentvolumeclaim|volume\s+claim)[\s:=/]+{_NAME}", rf"\b{_NAME}\s+pvc\b"),
    "job": (rf"\b(?:job|cronjob)[\s:=/]+{_NAME}", rf"\b{_NAME}\s+(?:cron)?job\b"),
    "secret": (rf"\bsecret[\s:=/]+{_NAME}", rf"\b(?:rotate|revoke)\s+(?:the\s+)?{_NAME}",
               rf"\b{_NAME}\s+(?:secret|credentials?|api[\s_-]?key|token)\b"),
    "container": (rf"\bcontainer[\s:=/]+{_NAME}", rf"(?:^|\s)(?:-c|--container)[\s=]+{_NAME}"),
    "hpa": (rf"\b(?:hpa|autoscaler|horizontalpodautoscaler)[\s:=/]+{_NAME}", rf"\b{_NAME}\s+hpa\b"),
    "zone": (rf"\bzone[\s:=/]+{_NAME}", rf"\b{_NAME}\s+zone\b"),
    "function": (rf"\b(?:function|lambda)[\s:=/]+{_NAME}", rf"\b{_NAME}\s+(?:function|lambda)\b"),
    "flag": (rf"\b(?:feature\s+)?flag[\s:=/]+{_NAME}", rf"\b{_NAME}\s+(?:feature\s+)?flag\b"),
    "database": (rf"\b(?:database|db)[\s:=/]+{_NAME}", rf"\b{_NAME}\s+(?:database|db)\b"),
}
_NEEDS_SHAPE = frozenset({"pod", "node"})  # "a logging pod", "the worker node" name nothing
_COMPILED = {entity: tuple(re.compile(p, re.IGNORECASE) for p in pats) for entity, pats in _PATTERNS.items()}
_IPV4 = re.compile(r"\b((?:\d{1,3}\.){3}\d{1,3}(?:/\d{1,2})?)\b")
_IPV6 = re.compile(r"(?<![\w:])((?:[0-9a-f]{1,4}:){2,7}[0-9a-f]{0,4}(?:/\d{1,3})?)(?![\w:])", re.IGNORECASE)
_NOT_A_NAMESPACE = re.compile(r"^(?:\d|v\d+(?:\.\d+)+$|[a-z]{2}(?:-gov)?-[a-z]+-\d+[a-z]?$|grafana$|kibana$|"
                              r"prometheus$|datadog$|slack$|splunk$|sentry$|logs?$)")
_QUALIFIED = re.compile(rf"\b{_NAME}/{_NAME}\b")
_TOKEN = re.compile(r"[a-z0-9][a-z0-9.-]*[a-z0-9]")


def entities_from_text(text: str) -> dict[str, str]:
    """Entity name -> value found in free text (lower-cased names; IPs as CIDRs)."""
    out: dict[str, str] = {}
    if not text:
        return out
    text = _URL.sub(" ", text)
    for entity, patterns in _COMPILED.items():
        value = _first_name(patterns, text)
        if value and (entity not in _NEEDS_SHAPE or re.search(r"[-.\d]", value)):
            out[entity] = value
    _qualified_names(text, out)
    for token in _TOKEN.findall(text.lower()):
        if "pod" not in out and looks_like_pod_name(token):
            out["pod"] = token
    if "pod" in out and "deployment" not in out:
        workload = workload_from_pod(out["pod"])
        if workload:
            out["deployment"] = workload
    ip = _IPV4.search(text) or _IPV6.search(text)
    if ip:
        out["cidr"] = as_cidr(ip.group(1))
    return out


def _first_name(patterns: tuple[re.Pattern[str], ...], text: str) -> str | None:
    """The best candidate: a name shaped like a name (dash, digit, dot) beats a plain word; then order."""
    best: tuple[int, int, int, int, str] | None = None
    for index, pattern in enumerate(patterns):
        for match in pattern.finditer(text):
            name = match.group(1).lower().strip(".")
            if not name or name in _COMMON_WORDS or name.isdigit() or len(name) < 2:
                continue
            weak_in = pattern.pattern.startswith(r"\bin\s+")  # "in X": the last one is usually the target
            if weak_in and _NOT_A_NAMESPACE.match(name):
                continue  # "in eu-west-1", "in v2.3.1", "in 5xx": a region, a version, a figure
            position = -match.start(1) if weak_in else match.start(1)
            # a stated kind ("namespace shop", "shop namespace", "-n shop") beats a bare "in X"
            rank = (int(weak_in), 0 if re.search(r"[-.\d]", name) else 1, index, position, name)
            best = rank if best is None or rank < best else best
    return best[4] if best else None


_VALUE_PATTERNS: dict[str, tuple[re.Pattern[str], ...]] = {
    "SIZE": (re.compile(r"\b(\d+(?:\.\d+)?\s*(?:Ki|Mi|Gi|Ti|Pi|KiB|MiB|GiB|TiB|G|T|M|GB|TB|MB))\b"),),
    "MAX_REPLICAS": (re.compile(r"\bmax(?:imum)?[ _-]?(?:replicas)?\s+to\s+(\d+)\b", re.I),
                     re.compile(r"\bmax(?:imum)?[ _-]?(?:replicas)?\s*(?:=|of|at)?\s*(\d+)\b", re.I)),
    "REPLICAS": (re.compile(r"\bscale\b[^.;\n]{0,40}?\bto\s+(\d+)\b", re.I),
                 re.compile(r"\breplicas?\s*(?:to|=)\s*(\d+)\b", re.I),
                 re.compile(r"\b(\d+)\s+(?:replicas|pods|instances)\b", re.I)),
    "CONCURRENCY": (re.compile(r"\bconcurrency\s*(?:to|=|of|at)?\s*(\d+)\b", re.I),
                    re.compile(r"\b(\d+)\s+concurrent\b", re.I)),
    "TO_REVISION": (re.compile(r"\brevision\s*#?(\d+)\b", re.I),),
    "QUERY_ID": (re.compile(r"\b(?:pid|query(?:\s+id)?|backend)\s*[#:=]?\s*(\d{2,})\b", re.I),),
}


def values_from_text(text: str) -> dict[str, str]:
    """Numbers the request states: ``grow it to 200Gi`` -> SIZE, ``scale to 6`` -> REPLICAS, ..."""
    out: dict[str, str] = {}
    for name, patterns in _VALUE_PATTERNS.items():
        for pattern in patterns:
            match = pattern.search(text)
            if match:
                out[name] = match.group(1).replace(" ", "")
                break
    if "MAX_REPLICAS" in out and out.get("REPLICAS") == out["MAX_REPLICAS"]:
        out.pop("REPLICAS")
    return out


def _qualified_names(text: str, out: dict[str, str]) -> None:
    """``shop/checkout`` names a namespace and a workload unless a kind prefix says otherwise."""
    kinds = {"deployment", "deploy", "pod", "po", "node", "svc", "service", "job", "pvc", "statefulset",
             "sts", "daemonset", "ds", "secret", "hpa"}
    for match in _QUALIFIED.finditer(text):
        first, second = match.group(1).lower(), match.group(2).lower()
        if first in kinds or first in _COMMON_WORDS or second in _COMMON_WORDS:
            continue
        if re.fullmatch(r"[\d.]+", first):
            continue
        out.setdefault("namespace", first)
        out.setdefault("pod" if looks_like_pod_name(second) else "deployment", second)
        return
