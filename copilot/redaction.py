"""Secret (and optional PII) masking for everything bound for a model, a chat or the audit log.

    redact(text)          -> text with each secret replaced by `[REDACTED:<kind>]`
    redact_obj(obj)       -> the same over dicts/lists/strings and keys, plus values under secret-looking keys
    find_secrets(text)    -> [Finding(kind, start, end, detector)]

Pure and I/O-free. The patterns live in copilot.redaction_patterns; detect-secrets' typed detectors
are imported once, lazily, on the first call. Overlapping findings are merged into one masked span
(the earliest-priority kind names it), so a partly matched secret never leaks its tail.
"""

from __future__ import annotations

import functools
import importlib
import logging
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from copilot import redaction_patterns as rp

logger = logging.getLogger(__name__)

MARKER = re.compile(r"\[REDACTED:[a-z0-9_]+\]")
_LONGEST_GROUP = "*longest"
_VALUE_GROUPS = ("dq", "sq", "bare")


@dataclass(frozen=True, slots=True)
class Finding:
    """One secret found in a text: its kind, where it is, and which detector saw it."""

    kind: str
    start: int
    end: int
    detector: str

    @property
    def span(self) -> tuple[int, int]:
        return (self.start, self.end)


def find_secrets(text: str, *, pii: bool = False) -> list[Finding]:
    """Every secret in `text` (emails too when `pii`), merged where they overlap, in text order."""
    if not text:
        return []
    lowered = text.lower()
    markers = [m.span() for m in MARKER.finditer(text)] if "[redacted:" in lowered else []
    spans = _SpanSet(markers)
    for start, end in _kube_secret_values(text):
        spans.add("kube_secret", start, end, "kube-secret-manifest")
    for pattern, detector in _patterns():
        if pattern.triggers is not None and not any(t in lowered for t in pattern.triggers):
            continue
        for start, end in _matches(pattern, text):
            spans.add(pattern.kind, start, end, detector)
    if pii and "@" in text:
        for start, end in _matches(rp.EMAIL_PATTERN, text):
            spans.add_if_free("email", start, end, "email")
    return spans.findings()


def redact(text: str, *, pii: bool = False) -> str:
    """`text` with every secret replaced by `[REDACTED:<kind>]`; everything around it is kept."""
    findings = find_secrets(text, pii=pii)
    if not findings:
        return text
    parts: list[str] = []
    cursor = 0
    for finding in findings:
        parts.append(text[cursor : finding.start])
        parts.append(f"[REDACTED:{finding.kind}]")
        cursor = finding.end
    parts.append(text[cursor:])
    return "".join(parts)


def redact_obj(obj: Any, *, pii: bool = False, name_keys: frozenset[str] = frozenset({"secret"})) -> Any:
    """A copy of `obj` with strings redacted and scalar values under secret-looking keys masked.

    String keys are redacted too (telemetry keys carry labels by contract, `name{labels}`); when two
    keys collapse to the same redacted text the later one becomes `<key>#2` so no value is lost.

    Recurses into mappings, lists and tuples; other objects come back unchanged (dump pydantic
    models first). Keys in `name_keys` hold a secret's *name* (the catalog's `rotate_secret(secret=)`),
    so their values are scanned as text but not masked wholesale.
    """
    if isinstance(obj, str):
        return redact(obj, pii=pii)
    if isinstance(obj, Mapping):
        return _redact_mapping(obj, pii, name_keys)
    if isinstance(obj, list | tuple):
        return type(obj)(redact_obj(item, pii=pii, name_keys=name_keys) for item in obj)
    return obj


# --------------------------------------------------------------------------- mappings

_SECRET_KEY_KINDS: tuple[tuple[str, str], ...] = (
    ("password", "password"),
    ("passwd", "password"),
    ("passphrase", "password"),
    ("clientsecret", "secret"),
    ("secret", "secret"),
    ("token", "token"),
    ("apikey", "api_key"),
    ("authkey", "api_key"),
    ("accesskey", "access_key"),
    ("secretkey", "secret_key"),
    ("privatekey", "private_key"),
    ("authorization", "authorization_header"),
    ("credentials", "credentials"),
    ("credential", "credentials"),
    ("cookie", "cookie"),
    ("sessionid", "session"),
)


def secret_key_kind(key: str) -> str | None:
    """The mask kind for a mapping key that names a secret (`db_password`, `apiKey`), else None.

    A telemetry key with labels (`mysql_root_password{pod="db-0"}`) is judged by its metric name.
    """
    key = key.split("{", 1)[0]
    if re.search(r"[_.-]pwd$", key, re.I):
        return "password"
    normalized = re.sub(r"[^a-z0-9]", "", key.lower())
    for ending, kind in _SECRET_KEY_KINDS:
        if normalized.endswith(ending):
            return kind
    return None


def _redact_mapping(obj: Mapping[Any, Any], pii: bool, name_keys: frozenset[str]) -> dict[Any, Any]:
    is_kube_secret = str(obj.get("kind", "")) == "Secret"
    out: dict[Any, Any] = {}
    for key, value in obj.items():
        if is_kube_secret and key in ("data", "stringData") and isinstance(value, Mapping):
            data: dict[Any, Any] = {}
            for inner_key, inner_value in value.items():
                data[_unique_key(redact_key(inner_key, pii), data)] = _mask_scalar(inner_value, "kube_secret")
            out[key] = data
            continue
        named = isinstance(key, str) and key.split("{", 1)[0].lower() in name_keys
        kind = secret_key_kind(key) if isinstance(key, str) and not named else None
        masked: Any
        if kind is not None and _is_maskable(value):
            masked = f"[REDACTED:{kind}]"
        else:
            masked = redact_obj(value, pii=pii, name_keys=name_keys)
        out[_unique_key(redact_key(key, pii), out)] = masked
    return out


def redact_key(key: Any, pii: bool = False) -> Any:
    """A mapping key with its secrets masked: telemetry keys carry labels (`db_up{dsn="postgres://..."}`)."""
    return redact(key, pii=pii) if isinstance(key, str) else key


def _unique_key(key: Any, taken: Mapping[Any, Any]) -> Any:
    """``key``, or ``key#2``, ``key#3``... when two keys redact to the same text (no value is lost)."""
    if key not in taken or not isinstance(key, str):
        return key
    suffix = 2
    while f"{key}#{suffix}" in taken:
        suffix += 1
    return f"{key}#{suffix}"


def _is_maskable(value: Any) -> bool:
    if isinstance(value, bool) or value is None:
        return False
    if isinstance(value, int | float):
        return True
    return isinstance(value, str) and rp.is_real_value(value)


def _mask_scalar(value: Any, kind: str) -> Any:
    return f"[REDACTED:{kind}]" if _is_maskable(value) else value


# --------------------------------------------------------------------------- matching


class _SpanSet:
    """Accepted secret spans; an overlapping later finding widens the earlier one (union)."""

    def __init__(self, markers: list[tuple[int, int]]) -> None:
        self._markers = markers
        self._spans: list[list[Any]] = []  # [start, end, kind, detector]

    def add(self, kind: str, start: int, end: int, detector: str) -> None:
        if start >= end or self._hits_marker(start, end):
            return
        overlapping = [s for s in self._spans if s[0] < end and start < s[1]]
        if not overlapping:
            self._spans.append([start, end, kind, detector])
            return
        keeper = overlapping[0]
        keeper[0] = min([start, *(s[0] for s in overlapping)])
        keeper[1] = max([end, *(s[1] for s in overlapping)])
        self._spans = [s for s in self._spans if s is keeper or s not in overlapping]

    def add_if_free(self, kind: str, start: int, end: int, detector: str) -> None:
        if not any(s[0] < end and start < s[1] for s in self._spans):
            self.add(kind, start, end, detector)

    def findings(self) -> list[Finding]:
        return [Finding(kind, start, end, det) for start, end, kind, det in sorted(self._spans)]

    def _hits_marker(self, start: int, end: int) -> bool:
        return any(m_start < end and start < m_end for m_start, m_end in self._markers)


def _matches(pattern: rp.SecretPattern, text: str) -> Iterator[tuple[int, int]]:
    for match in pattern.regex.finditer(text):
        span = _secret_span(pattern.group, match)
        if span is None:
            continue
        if pattern.validator is None or pattern.validator(text[span[0] : span[1]]):
            yield span


def _secret_span(group: str | None, match: re.Match[str]) -> tuple[int, int] | None:
    if group == "value":
        for name in _VALUE_GROUPS:
            if match.group(name) is not None:
                return match.span(name)
        return None
    if group == _LONGEST_GROUP:
        return _longest_group_span(match)
    if group is not None:
        return match.span(group) if match.group(group) is not None else None
    return _strip_delimiters(match.string, *match.span())


def _longest_group_span(match: re.Match[str]) -> tuple[int, int]:
    """detect-secrets regexes capture the secret in a group, or capture only a prefix (GitHub's
    `ghp`): use the longest group when it is long enough to be the secret, else the whole match."""
    spans = [match.span(i) for i in range(1, (match.re.groups or 0) + 1) if match.group(i)]
    best = max(spans, key=lambda s: s[1] - s[0], default=None)
    if best is not None and best[1] - best[0] >= rp.MIN_GROUP_SECRET_LEN:
        return best
    return _strip_delimiters(match.string, *match.span())


def _strip_delimiters(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start] in rp.MATCH_DELIMITERS:
        start += 1
    while end > start and text[end - 1] in rp.MATCH_DELIMITERS:
        end -= 1
    return start, end


def _kube_secret_values(text: str) -> Iterator[tuple[int, int]]:
    """Values under `data:`/`stringData:` of a text holding a `kind: Secret` manifest (YAML or JSON)."""
    if "secret" not in text.lower() or not rp.KIND_SECRET.search(text):
        return
    for block in rp.YAML_DATA_BLOCK.finditer(text):
        offset = block.start("body")
        for entry in rp.YAML_ENTRY_VALUE.finditer(block.group("body")):
            yield offset + entry.start("value"), offset + entry.end("value")
    for block in rp.JSON_DATA_BLOCK.finditer(text):
        offset = block.start("body")
        for entry in rp.JSON_ENTRY_VALUE.finditer(block.group("body")):
            yield offset + entry.start("value"), offset + entry.end("value")


# --------------------------------------------------------------------------- pattern loading


@functools.cache
def _patterns() -> tuple[tuple[rp.SecretPattern, str], ...]:
    """All patterns in priority order, with a detector name each. Built once, on first use."""
    own = tuple((p, f"copilot:{p.kind}") for p in rp.OWN_PATTERNS)
    keyword = tuple((p, f"copilot:{p.kind}") for p in rp.KEYWORD_PATTERNS)
    return own + _detect_secrets_patterns() + keyword


def _detect_secrets_patterns() -> tuple[tuple[rp.SecretPattern, str], ...]:
    from detect_secrets.plugins.base import RegexBasedDetector  # lazy: pulls in requests

    loaded: list[tuple[rp.SecretPattern, str]] = []
    for module_name, class_name, triggers in rp.DETECT_SECRETS_DETECTORS:
        module = importlib.import_module(f"detect_secrets.plugins.{module_name}")
        plugin_class = getattr(module, class_name, None)
        if plugin_class is None:
            logger.warning("detect-secrets has no %s.%s; skipping that detector", module_name, class_name)
            continue
        plugin = plugin_class()
        kind = _slug(plugin.secret_type)
        validator = None
        if plugin_class.analyze_string is not RegexBasedDetector.analyze_string:
            validator = _plugin_validator(plugin)
        for regex in plugin.denylist:
            pattern = rp.SecretPattern(kind, regex, triggers, _LONGEST_GROUP, validator)
            loaded.append((pattern, f"detect-secrets:{class_name}"))
    return tuple(loaded)


def _plugin_validator(plugin: Any) -> Callable[[str], bool]:
    """Plugins that filter their regex hits (JWT checks the base64 JSON) confirm a candidate."""

    def confirms(candidate: str) -> bool:
        return any(True for _ in plugin.analyze_string(candidate))

    return confirms


def _slug(secret_type: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", secret_type.lower()).strip("_")
