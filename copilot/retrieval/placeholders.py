"""Placeholder normalisation: every spelling of a runbook placeholder becomes ``$UPPER_SNAKE``.

``$NAMESPACE``, ``${NAMESPACE}``, ``<namespace>``, ``{{ $labels.namespace }}`` -> ``$NAMESPACE``;
``<pod-name>``, ``$podName`` -> ``$POD_NAME``, ``<cluster ID>`` -> ``$CLUSTER_ID``. A bare all-caps
word (``NAMESPACE``) is a placeholder only in a command position (``bare_caps=True``). ``$NS`` is an
alias of ``$NAMESPACE``. Alert-template spellings (``{{ $labels.pod }}``, ``{{$labels.pod}}``,
``{{ .Labels.pod }}``, ``{{ .CommonLabels.pod }}``, ``$labels.pod``, Jinja's ``{{ pod_name }}``) are
rewritten first by ``normalize_templates``, which also runs on command lines before they are split
into words (a template with spaces inside would otherwise become several words). Go templates that
are not a single label reference (``{{range .items}}``, ``{{.metadata.name}}``) are left alone.
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
    r"|<(?P<angle>[A-Za-z][\w-]*(?: [A-Za-z][\w-]*){0,3})>"
    r"|\$(?P<plain>[A-Za-z_]\w*)"
)
_LABEL_SCOPES = (r"\$labels|\$externalLabels|\.Labels|\.CommonLabels|\.GroupLabels"
                 r"|\.CommonAnnotations|\.Annotations")
_TEMPLATE = re.compile(
    r"\{\{-?\s*(?:(?:" + _LABEL_SCOPES + r")\.(?P<label>\w+)|\$(?P<var>[A-Za-z_]\w*)"
    r"|(?P<jinja>[A-Za-z_]\w*))\s*-?\}\}"
    r"|(?<![\w{])\$labels\.(?P<bare>\w+)"
)
_GO_TEMPLATE_WORDS = frozenset({"end", "else", "range", "if", "with", "define", "template", "block", "break",
                                "continue", "nil", "true", "false"})


def placeholder_name(raw: str) -> str:
    """``pod-name`` / ``podName`` / ``pod name`` -> ``POD_NAME`` (aliases applied)."""
    spaced = _CAMEL_BOUNDARY.sub("_", raw.strip())
    name = re.sub(r"[^A-Za-z0-9]+", "_", spaced).strip("_").upper()
    return ALIASES.get(name, name)


def normalize_templates(text: str) -> str:
    """Rewrite alert-template label references (``{{ $labels.pod }}``, ``{{ .Labels.pod }}``,
    ``$labels.pod``, ``{{ pod }}``) to ``$POD``; other text, other Go templates included, is kept."""
    return _TEMPLATE.sub(_template_replacement, text) if "labels." in text or "{{" in text else text


def _template_replacement(match: re.Match[str]) -> str:
    jinja = match.group("jinja")
    if jinja is not None and jinja in _GO_TEMPLATE_WORDS:
        return match.group(0)
    raw = next(group for group in match.groups() if group is not None)
    return "$" + placeholder_name(raw)


def normalize_placeholders(value: str, *, bare_caps: bool = False) -> str:
    """Rewrite placeholders in ``value`` to ``$UPPER_SNAKE``; other text is kept as written."""
    value = normalize_templates(value)
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
