"""Placeholder normalisation: every spelling of a runbook placeholder becomes ``$UPPER_SNAKE``.

``$NAMESPACE``, ``${NAMESPACE}``, ``<namespace>``, ``{{ $labels.namespace }}`` -> ``$NAMESPACE``;
``<pod-name>``, ``$podName`` -> ``$POD_NAME``. A bare all-caps word (``NAMESPACE``) is a
placeholder only in a command position (``bare_caps=True``). ``$NS`` is an alias of ``$NAMESPACE``.
"""

from __future__ import annotations

import re
from typing import Any

ALIASES = {"NS": "NAMESPACE"}

_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_WHOLE_DOLLAR = re.compile(r"^\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?$")
_WHOLE_ANGLE = re.compile(r"^<([A-Za-z][\w .-]*)>$")
_WHOLE_LABEL = re.compile(r"^\{\{\s*\$labels\.(\w+)\s*\}\}$")
_BARE_CAPS = re.compile(r"^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*$")
_EMBEDDED = re.compile(
    r"\{\{\s*\$labels\.(?P<label>\w+)\s*\}\}"
    r"|\$\{(?P<braced>[A-Za-z_]\w*)\}"
    r"|<(?P<angle>[A-Za-z][\w-]*)>"
    r"|\$(?P<plain>[A-Za-z_]\w*)"
)


def placeholder_name(raw: str) -> str:
    """``pod-name`` / ``podName`` / ``pod name`` -> ``POD_NAME`` (aliases applied)."""
    spaced = _CAMEL_BOUNDARY.sub("_", raw.strip())
    name = re.sub(r"[^A-Za-z0-9]+", "_", spaced).strip("_").upper()
    return ALIASES.get(name, name)


def normalize_placeholders(value: str, *, bare_caps: bool = False) -> str:
    """Rewrite placeholders in ``value`` to ``$UPPER_SNAKE``; other text is kept as written."""
    text = value.strip()
    for pattern in (_WHOLE_DOLLAR, _WHOLE_ANGLE, _WHOLE_LABEL):
        match = pattern.match(text)
        if match:
            return "$" + placeholder_name(match.group(1))
    if bare_caps and len(text) > 1 and _BARE_CAPS.match(text):
        return "$" + placeholder_name(text)
    return _EMBEDDED.sub(_embedded_replacement, value)


def _embedded_replacement(match: re.Match[str]) -> str:
    raw = next(group for group in match.groups() if group is not None)
    return "$" + placeholder_name(raw)


def normalize_arg_values(args: dict[str, Any]) -> dict[str, Any]:
    """Normalise placeholders in every string (and list of strings) of a step's args."""
    out: dict[str, Any] = {}
    for key, value in args.items():
        if isinstance(value, str):
            out[key] = normalize_placeholders(value)
        elif isinstance(value, list):
            out[key] = [normalize_placeholders(v) if isinstance(v, str) else v for v in value]
        else:
            out[key] = value
    return out


def is_placeholder(value: object) -> bool:
    return isinstance(value, str) and bool(re.fullmatch(r"\$[A-Z_][A-Z0-9_]*", value))
