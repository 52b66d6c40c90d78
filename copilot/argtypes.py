"""Canonical argument types of the catalog contract: duration, CIDR, size, matchers; and what a
name that targets one object cannot look like.

Each normaliser accepts looser input and returns the canonical form, or raises
ValueError with a message that says what a good value looks like.
"""

from __future__ import annotations

import ipaddress
import re

_DURATION_UNITS = {
    "s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1,
    "m": 60, "min": 60, "mins": 60, "minute": 60, "minutes": 60,
    "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600, "hours": 3600,
    "d": 86400, "day": 86400, "days": 86400,
    "w": 604800, "wk": 604800, "week": 604800, "weeks": 604800,
}
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([a-z]+)")
_BULK_WORDS = frozenset({"all", "any", "every", "everything", "none", "null", "n/a", "-"})
_BULK_CHARS = re.compile(r"[*?\[\]{}|^$\\\s,;&`'\"<>()!]|^-")  # a glob, a regex, a list, shell or a flag


def is_bulk_name(value: str) -> bool:
    """True for a value that names many objects or none ("*", "all", "web-.*", "a,b"), or is no name at all
    (``--all``, ``x;rm``): never one target."""
    text = value.strip().lower()
    return not text or text in _BULK_WORDS or bool(_BULK_CHARS.search(text))


def duration_seconds(value: str | int) -> int:
    """Seconds in a duration such as ``30m``, ``2h``, ``1h30m`` or ``90 minutes``."""
    if isinstance(value, bool):
        raise ValueError("a duration is a string such as 30m, 2h or 1d")
    if isinstance(value, int):
        return value
    text = str(value).strip().lower()
    if text.isdigit():
        return int(text)
    pos, total = 0, 0.0
    for match in _DURATION_PART.finditer(text):
        if text[pos:match.start()].strip(" ,and") != "":
            break
        unit = _DURATION_UNITS.get(match.group(2))
        if unit is None:
            raise ValueError(f"unknown duration unit {match.group(2)!r}; use s, m, h, d or w (e.g. 30m)")
        total += float(match.group(1)) * unit
        pos = match.end()
    if pos == 0 or text[pos:].strip() != "":
        raise ValueError(f"{value!r} is not a duration; write it like 30m, 2h or 1d")
    return int(total)


def canonical_duration(value: str | int) -> str:
    """``90 minutes`` -> ``90m``; ``3600`` -> ``1h``; ``1h30m`` -> ``90m``."""
    seconds = duration_seconds(value)
    if seconds <= 0:
        raise ValueError("a duration must be positive, e.g. 30m")
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def canonical_cidr(value: str) -> str:
    """``203.0.113.7`` -> ``203.0.113.7/32``; IPv6 gets ``/128``; host bits are cleared."""
    text = str(value).strip()
    try:
        net = ipaddress.ip_network(text, strict=False)
    except ValueError as exc:
        raise ValueError(f"{value!r} is not an IP address or CIDR; write it like 203.0.113.7/32") from exc
    return str(net)


_QUANTITY = re.compile(r"^(\d+(?:\.\d+)?)\s*(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$")
_LOOSE_UNITS = {"kib": "Ki", "mib": "Mi", "gib": "Gi", "tib": "Ti", "pib": "Pi", "gb": "G", "mb": "M",
                "tb": "T", "kb": "k"}


def canonical_size(value: str | int) -> str:
    """A Kubernetes quantity: ``200Gi``; accepts ``200 GiB`` and ``200gi``."""
    text = str(value).strip().replace(" ", "")
    match = re.match(r"^(\d+(?:\.\d+)?)([A-Za-z]*)$", text)
    if match:
        unit = match.group(2)
        fixed = _LOOSE_UNITS.get(unit.lower()) or (unit[0].upper() + unit[1:] if len(unit) == 2 else unit)
        text = match.group(1) + fixed
    if not _QUANTITY.match(text):
        raise ValueError(f"{value!r} is not a Kubernetes quantity; write it like 200Gi")
    return text


_MATCHER = re.compile(r'^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$')


def canonical_matcher(value: str) -> str:
    """amtool form: ``alertname=X``, ``job=~"api.*"``; quotes kept only where needed."""
    match = _MATCHER.match(str(value))
    if not match:
        raise ValueError(f"{value!r} is not a matcher; write it like alertname=KubePodCrashLooping "
                         "or env=prod")
    name, op, raw = match.groups()
    raw = raw.strip()
    if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "\"'":
        raw = raw[1:-1]
    if raw == "":
        raise ValueError(f"matcher {value!r} has an empty value")
    needs_quotes = op in ("=~", "!~") or re.search(r"[\s,{}\"]", raw) is not None
    return f'{name}{op}"{raw}"' if needs_quotes else f"{name}{op}{raw}"


def canonical_matchers(value: str | list[str]) -> list[str]:
    """A list of amtool matchers; a single ``a=b,c=d`` or ``{a="b"}`` string is split."""
    items: list[str]
    if isinstance(value, str):
        text = value.strip().strip("{}")
        items = [part for part in re.split(r",\s*(?=[a-zA-Z_][a-zA-Z0-9_]*\s*(?:=~|!~|!=|=))", text) if part]
    else:
        items = list(value)
    if not items:
        raise ValueError("give at least one matcher, e.g. alertname=Watchdog")
    return [canonical_matcher(item) for item in items]
