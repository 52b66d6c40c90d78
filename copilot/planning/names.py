"""Kubernetes name shapes: workload from pod name, CIDR from an address."""

from __future__ import annotations

import re

_RS_POD = re.compile(r"^(?P<name>[a-z0-9][a-z0-9.-]*?)-(?P<hash>[a-z0-9]{5,10})-(?P<suffix>[a-z0-9]{5})$")
_STS_POD = re.compile(r"^(?P<name>[a-z0-9][a-z0-9.-]*?)-(?P<ordinal>\d{1,3})$")
_SHORT_POD = re.compile(r"^(?P<name>[a-z0-9][a-z0-9.-]*?)-(?P<suffix>[a-z0-9]{5})$")
_K8S_RANDOM = frozenset("bcdfghjklmnpqrstvwxz2456789")


def _hashlike(text: str) -> bool:
    return any(ch.isdigit() for ch in text) or set(text) <= _K8S_RANDOM


def workload_from_pod(pod: str) -> str | None:
    """``checkout-7d9f8b6c5d-x2x9k`` -> ``checkout``; ``web-0`` -> ``web``; None when not derivable."""
    match = _RS_POD.match(pod)
    if match and _hashlike(match.group("hash")):
        return match.group("name")
    match = _STS_POD.match(pod)
    if match:
        return match.group("name")
    match = _SHORT_POD.match(pod)
    if match and _hashlike(match.group("suffix")):
        return match.group("name")
    return None


def looks_like_pod_name(token: str) -> bool:
    return bool(_RS_POD.match(token) and workload_from_pod(token))




def as_cidr(value: str) -> str:
    """``203.0.113.7`` -> ``203.0.113.7/32``; IPv6 gets ``/128``; a CIDR is kept."""
    value = value.strip()
    if "/" in value:
        return value
    return f"{value}/128" if ":" in value else f"{value}/32"
