"""Blast radius: how far one call reaches, pure. A changing call must name one object; and no
scaling a production service to 0, purging a whole CDN zone, blocking a huge network, silencing
everything, or draining a second node while one is out.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Mapping, Sequence
from typing import Any

import regex  # not `re`: it has a match timeout

from copilot.argtypes import is_bulk_name
from copilot.domain import ToolSpec

_NODE_TOOLS = ("drain_node", "cordon_node")
# Target arguments that are not object names: a network, alert matchers, a runbook reference.
_NOT_NAMES = frozenset({"cidr", "matchers", "runbook"})
_WILDCARD_PATHS = re.compile(r"^/?\*+(/\*+)*$|^/$")
_WIDEST_IPV4, _WIDEST_IPV6 = 8, 32
# IPv6 prefixes whose last 32 bits are an IPv4 address: IPv4-mapped, NAT64 well-known, IPv4-compatible
_IPV4_EMBEDDINGS = tuple(ipaddress.IPv6Network(n) for n in ("::ffff:0:0/96", "64:ff9b::/96", "::/96"))
_MAX_REGEX_CHARS = 256
_PROBE_TIMEOUT_S = 0.02  # per probe; a regex that needs longer is refused (the guard must stay fast)
# Label values of every shape: a regex that fully matches all of them (and so nearly any value) is a
# wildcard. Short and varied, so even a backtracking-prone regex stays cheap on them.
_PROBE_VALUES = ("KubePodCrashLooping", "x", "TargetDown", "node_exporter", "Q7", "9", "a-b.c", "zz z", "_")
_MATCHER = re.compile(r'^([a-zA-Z_][a-zA-Z0-9_]*)(=~|!~|!=|=)"?(.*?)"?$')


def blast_radius(
    spec: ToolSpec,
    args: Mapping[str, Any],
    target: str,
    production: bool,
    environment: str,
    inflight: Sequence[tuple[str, Mapping[str, Any]]],
) -> list[str]:
    """Reasons a call reaches too far: many objects at once, whole services down, whole zones, huge
    networks, many nodes."""
    name = spec.name
    bulk = _bulk_names(spec, args)
    if bulk:
        return bulk
    if name == "scale_deployment" and args.get("replicas") == 0 and production:
        return [
            f"blast radius: scaling {target} to 0 in {environment} takes the service down; "
            "scale to at least 1 replica"
        ]
    if name in _NODE_TOOLS:
        return _node_radius(name, str(args["node"]), inflight)
    if name == "purge_cdn_cache":
        paths = list(args.get("paths", []))
        if not paths:
            return ["purge_cdn_cache needs at least one path; list the paths to purge"]
        if any(_WILDCARD_PATHS.match(p.strip()) for p in paths):
            return [
                f"blast radius: purging every path of zone {args['zone']} empties the whole cache; "
                "list the paths that are stale instead"
            ]
    if name == "block_ip":
        return _network_radius(ipaddress.ip_network(str(args["cidr"]), strict=False))
    if name == "silence_alert":
        return _silence_radius([str(m) for m in args.get("matchers", [])])
    if name == "update_hpa" and args.get("min_replicas", 0) > args.get("max_replicas", 10**9):
        return [
            f"min_replicas ({args['min_replicas']}) is above max_replicas ({args['max_replicas']}); "
            "swap them or raise max_replicas"
        ]
    return []


def _bulk_names(spec: ToolSpec, args: Mapping[str, Any]) -> list[str]:
    """A changing call's target names ("*", "all", "web-.*", "a,b") that would reach many objects."""
    if not spec.mutating:
        return []
    names = [n for n in re.findall(r"\{(\w+)\}", spec.target or "") if n not in _NOT_NAMES]
    return [
        f"blast radius: {spec.name} {name}={args[name]!r} names many objects, or none; name exactly one"
        for name in names
        if isinstance(args.get(name), str) and is_bulk_name(args[name])
    ]


def _node_radius(name: str, node: str, inflight: Sequence[tuple[str, Mapping[str, Any]]]) -> list[str]:
    blocking = ("drain_node", "cordon_node") if name == "drain_node" else ("drain_node",)
    others = sorted(
        {str(a.get("node")) for tool, a in inflight if tool in blocking and a.get("node") != node}
    )
    if not others:
        return []
    return [
        f"blast radius: {', '.join(others)} is already being drained or cordoned; {name} one node at a "
        "time, after the other finishes"
    ]


def _network_radius(net: ipaddress.IPv4Network | ipaddress.IPv6Network) -> list[str]:
    """IPv4 wider than /8 or IPv6 wider than /32; IPv4 embedded in IPv6 (mapped, NAT64) counts as IPv4.

    6to4 (2002::/16) needs no rule of its own: a 6to4 prefix as wide as IPv4 /8 is IPv6 /24, already
    wider than /32.
    """
    for embedding in _IPV4_EMBEDDINGS:
        if net.version == 6 and net.prefixlen >= 96 and net.subnet_of(embedding):
            ipv4 = ipaddress.IPv4Network((int(net.network_address) & 0xFFFFFFFF, net.prefixlen - 96))
            if ipv4.prefixlen <= _WIDEST_IPV4:
                return [
                    f"blast radius: blocking {net} blocks IPv4 {ipv4} (embedded in {embedding}), "
                    f"{net.num_addresses:,} addresses; block a prefix longer than /{96 + _WIDEST_IPV4}"
                ]
            return []
    widest = _WIDEST_IPV4 if net.version == 4 else _WIDEST_IPV6
    if net.prefixlen <= widest:
        return [
            f"blast radius: blocking {net} covers {net.num_addresses:,} addresses; block a prefix "
            f"longer than /{widest}"
        ]
    return []


def _silence_radius(matchers: Sequence[str]) -> list[str]:
    """Invalid regexes, or no matcher that narrows the silence (wildcards, negatives alone)."""
    invalid = [reason for m in matchers if (reason := _invalid_regex(m)) is not None]
    if invalid:
        return invalid
    if any(_specific(m) for m in matchers):
        return []
    return [
        "blast radius: this silence matches every alert; add a positive matcher such as "
        "alertname=X (wildcards and negative matchers alone do not count)"
    ]


def _invalid_regex(matcher: str) -> str | None:
    found = _MATCHER.match(matcher.strip())
    if not found or found.group(2) not in ("=~", "!~"):
        return None
    problem = _regex_problem(found.group(3))
    if problem is None:
        return None
    return f"invalid regex in matcher {matcher!r}: {problem}; fix the regex (Alertmanager uses RE2 syntax)"


def _specific(matcher: str) -> bool:
    """A positive matcher that does not match (nearly) every value. Negative matchers never count:
    ``alertname!="x"`` alone matches every other alert."""
    found = _MATCHER.match(matcher.strip())
    if not found:
        return False
    _name, op, value = found.groups()
    if op == "=":
        return value not in ("", "*")
    if op == "=~":
        return _regex_problem(value) is None and not _regex_matches_nearly_all(value)
    return False


@functools.lru_cache(maxsize=1024)
def _regex_problem(value: str) -> str | None:
    """Why ``value`` is not a usable regex (does not compile, too long, too slow), else None."""
    if len(value) > _MAX_REGEX_CHARS:
        return f"longer than {_MAX_REGEX_CHARS} characters (use exact matchers)"
    try:
        pattern = regex.compile(value)
        for probe in _PROBE_VALUES:
            pattern.fullmatch(probe, timeout=_PROBE_TIMEOUT_S)
    except regex.error as exc:
        return str(exc)
    except TimeoutError:
        return "too slow to evaluate (catastrophic backtracking, e.g. nested repetition)"
    except RecursionError:  # deeply nested groups overflow the compiler
        return "nested too deeply"
    return None


@functools.lru_cache(maxsize=1024)
def _regex_matches_nearly_all(value: str) -> bool:
    """Alertmanager anchors regexes: a regex that fully matches "" or every probe value is a wildcard
    (``.*``, ``..*``, ``.{0,}``, ``(.*)|x``, ``[^x]*``...). Only call it after ``_regex_problem``."""
    pattern = regex.compile(value)
    if pattern.fullmatch("", timeout=_PROBE_TIMEOUT_S) is not None:
        return True
    return all(pattern.fullmatch(probe, timeout=_PROBE_TIMEOUT_S) is not None for probe in _PROBE_VALUES)
