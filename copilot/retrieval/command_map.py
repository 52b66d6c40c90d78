"""Map parsed shell commands onto catalog tools through their ``CommandPattern``s.

A command is split into positional words, value flags and switches (which flags take a value
comes from the pattern plus a small per-program table), then matched against every pattern;
the most specific match wins. Placeholders are normalised to ``$UPPER_SNAKE``; a required
argument the command leaves out (``oc get events`` has no ``-n``) becomes its own placeholder
(``$NAMESPACE``) for the planner to bind. Pure: no I/O.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from copilot.catalog import Catalog
from copilot.domain import CandidateCall, CommandPattern, ToolSpec
from copilot.retrieval.placeholders import is_placeholder, normalize_placeholders, placeholder_name
from copilot.retrieval.shell import ShellCommand

_KUBE_VALUE_FLAGS = frozenset({
    "-n", "--namespace", "-o", "--output", "-l", "--selector", "-c", "--container", "--field-selector",
    "--sort-by", "--template", "-p", "--patch", "--type", "--image", "--dest-dir", "--context",
    "--kubeconfig", "--cluster", "--user", "--server", "--token", "--since", "--since-time", "--tail",
    "--timeout", "--grace-period", "--for", "--replicas", "--to-revision", "--as", "--limit",
    "--field-manager", "--chunk-size", "-L", "--label-columns",
})
VALUE_FLAGS: dict[str, frozenset[str]] = {
    "kubectl": _KUBE_VALUE_FLAGS,
    "oc": _KUBE_VALUE_FLAGS,
    "virtctl": frozenset({"-n", "--namespace", "--kubeconfig", "--context"}),
    "amtool": frozenset({"-o", "--output", "-d", "--duration", "-c", "--comment", "-a", "--author",
                         "-e", "--expires", "--alertmanager.url", "--receiver", "-r"}),
    "promtool": frozenset({"--start", "--end", "--step", "--time", "-o", "--format"}),
    "patronictl": frozenset({"-c", "--config-file", "--dcs", "--dcs-url", "-k", "--insecure",
                             "--candidate", "--leader", "--primary", "--master", "--scheduled", "--group"}),
    "curl": frozenset({"-X", "--request", "-H", "--header", "-d", "--data", "--data-raw", "--data-binary",
                       "--data-urlencode", "-u", "--user", "-o", "--output", "-w", "--write-out", "-m",
                       "--max-time", "--connect-timeout", "--cacert", "--cert", "--key", "-A", "-e",
                       "--resolve", "-b", "--cookie", "-T", "--upload-file"}),
}
_AWS_SWITCHES = frozenset({"--dry-run", "--no-dry-run", "--no-cli-pager", "--debug", "--no-paginate",
                           "--no-verify-ssl", "--no-sign-request"})


@dataclass
class ParsedArgs:
    """A command split against one pattern: positional words, flag values, switches seen."""

    words: list[str] = field(default_factory=list)
    flags: dict[str, str] = field(default_factory=dict)
    switches: set[str] = field(default_factory=set)


def parse_argv(argv: Sequence[str], value_flags: frozenset[str], switch_flags: frozenset[str],
               program: str) -> ParsedArgs:
    """Split ``argv[1:]``; ``--f=v``, ``-fv`` and ``-f v`` all give flags['-f'] = v."""
    parsed = ParsedArgs(words=[program])
    tokens = list(argv[1:])
    index = 0
    while index < len(tokens):
        token = tokens[index]
        index += 1
        if token == "--" or not token.startswith("-") or len(token) == 1 or token[1].isdigit():  # noqa: S105
            parsed.words.append(token)
            continue
        name, eq, value = token.partition("=")
        if token.startswith("--") and eq:
            parsed.flags[name] = value
        elif name in switch_flags:
            parsed.switches.add(name)
        elif _takes_value(name, value_flags, program) and index < len(tokens):
            parsed.flags[name] = tokens[index]
            index += 1
        elif not token.startswith("--") and token[:2] in value_flags and len(token) > 2:
            parsed.flags[token[:2]] = token[2:].removeprefix("=")
        else:
            parsed.switches.add(token)
    return parsed


def _takes_value(name: str, value_flags: frozenset[str], program: str) -> bool:
    if name in value_flags:
        return True
    return program == "aws" and name.startswith("--") and name not in _AWS_SWITCHES


# --------------------------------------------------------------------------- patterns


@dataclass(frozen=True)
class _Word:
    """One pattern word: regex alternatives, or a rest placeholder ``{arg...}``."""

    alternatives: tuple[re.Pattern[str], ...] = ()
    rest: str | None = None
    weight: int = 0


@dataclass(frozen=True)
class _Compiled:
    tool: ToolSpec
    pattern: CommandPattern
    words: tuple[_Word, ...]
    value_flags: dict[str, str]  # flag -> argument
    switch_flags: dict[str, str]
    templates: tuple[dict[str, re.Pattern[str]], ...]  # per entry: flag -> the value one of them must have
    specificity: int


def _compile_word(word: str) -> _Word:
    rest = re.fullmatch(r"\{(\w+)\.\.\.\}", word)
    if rest:
        return _Word(rest=rest.group(1))
    alternatives = [alt for alt in re.split(r"\|(?![^{]*\})", word) if alt]
    weight = min(_alt_weight(alt) for alt in alternatives) if alternatives else 0
    return _Word(alternatives=tuple(re.compile(_alt_regex(alt)) for alt in alternatives), weight=weight)


def _alt_weight(alternative: str) -> int:
    """How specific an alternative is: a literal 10, literal text around a slot 5, a bare slot 0."""
    if "{" not in alternative:
        return 10
    return 0 if re.fullmatch(r"\{\w+\}", alternative) else 5


def _alt_regex(alternative: str) -> str:
    parts: list[str] = []
    for piece in re.split(r"(\{\w+(?:[=~][^}]*)?\})", alternative):
        slot = re.fullmatch(r"\{(\w+)(?:([=~])([^}]*))?\}", piece)
        if slot:
            name, kind, spec = slot.groups()
            body = "[^=]+?" if not kind else (fnmatch.translate(spec)[4:-3] if kind == "=" else spec)
            parts.append(f"(?P<{name}>{body})")
        else:
            parts.append(".*".join(re.escape(chunk) for chunk in piece.split("*")))
    return "".join(parts)


def _compile(tool: ToolSpec, pattern: CommandPattern) -> _Compiled:
    words = tuple(_compile_word(w) for w in pattern.words)
    value_flags = {flag: arg for arg, flags in pattern.flags.items() for flag in flags if "=" not in flag}
    templates = tuple(_templates(flags) for flags in pattern.flags.values() if any("=" in f for f in flags))
    switch_flags = {flag: arg for arg, flags in pattern.bool_flags.items() for flag in flags}
    specificity = sum(w.weight for w in words) * 10 + len(words) + 50 * len(templates)
    return _Compiled(tool, pattern, words, value_flags, switch_flags, templates, specificity)


def _templates(flags: Sequence[str]) -> dict[str, re.Pattern[str]]:
    pairs = (flag.split("=", 1) for flag in flags if "=" in flag)
    return {name: re.compile(_alt_regex(template)) for name, template in pairs}


class CommandMapper:
    """Maps a ShellCommand to the CandidateCall of the catalog tool whose pattern it matches."""

    def __init__(self, catalog: Catalog) -> None:
        compiled = [_compile(spec, pattern) for spec in catalog for pattern in spec.commands]
        self._patterns = sorted(compiled, key=lambda c: -c.specificity)

    def map(self, command: ShellCommand) -> CandidateCall | None:
        program = command.program
        for compiled in self._patterns:
            if not compiled.words or not compiled.words[0].alternatives:
                continue
            if not any(alt.fullmatch(program) for alt in compiled.words[0].alternatives):
                continue
            args = _match(compiled, command.argv, program)
            if args is not None:
                return CandidateCall(tool=compiled.tool.name, args=args, command=command.text,
                                     line=command.line)
        return None

    def map_all(self, commands: Sequence[ShellCommand]) -> list[CandidateCall]:
        calls = (self.map(cmd) for cmd in commands)
        return [call for call in calls if call is not None]


def _match(compiled: _Compiled, argv: Sequence[str], program: str) -> dict[str, Any] | None:
    template_flags = {flag for group in compiled.templates for flag in group}
    value_flags = VALUE_FLAGS.get(program, frozenset()) | set(compiled.value_flags) | template_flags
    value_flags -= set(compiled.switch_flags)
    parsed = parse_argv(argv, frozenset(value_flags), frozenset(compiled.switch_flags), program)
    captured = _match_words(compiled.words, parsed.words)
    if captured is None:
        return None
    for group in compiled.templates:
        matches = [t.fullmatch(parsed.flags[flag]) for flag, t in group.items() if flag in parsed.flags]
        match = next((m for m in matches if m), None)
        if match is None:
            return None
        captured.update({k: v for k, v in match.groupdict().items() if v is not None})
    for flag, value in parsed.flags.items():
        if flag in compiled.value_flags:
            captured[compiled.value_flags[flag]] = value
    for flag in parsed.switches:
        if flag in compiled.switch_flags:
            captured[compiled.switch_flags[flag]] = True
    captured.update(compiled.pattern.fixed)
    return _typed_args(compiled.tool, captured)


def _match_words(pattern: Sequence[_Word], words: Sequence[str]) -> dict[str, Any] | None:
    captured: dict[str, Any] = {}
    for index, word in enumerate(pattern):
        if word.rest is not None:
            captured[word.rest] = list(words[index:])
            return captured
        if index >= len(words):
            return None
        match = next((m for alt in word.alternatives if (m := alt.fullmatch(words[index]))), None)
        if match is None:
            return None
        captured.update({k: v for k, v in match.groupdict().items() if v is not None})
    return captured if len(words) == len(pattern) else None


def _typed_args(tool: ToolSpec, raw: dict[str, Any]) -> dict[str, Any]:
    args: dict[str, Any] = {}
    for name, value in raw.items():
        spec = tool.arg(name)
        if spec is None or name.startswith("_"):
            continue
        args[name] = _coerce(spec.type, value, name)
    for spec in tool.args:
        if spec.required and spec.name not in args:
            args[spec.name] = "$" + placeholder_name(spec.name)
    return args


def _coerce(arg_type: str, value: Any, name: str) -> Any:
    if isinstance(value, bool) or not isinstance(value, str | list):
        return value
    if isinstance(value, str) and (value.startswith(("$(", "`")) or value.strip(".") == ""):
        return "$" + placeholder_name(name)  # looked up at run time (a subshell) or elided (...)
    if isinstance(value, list):
        values = [normalize_placeholders(v, bare_caps=True) for v in value]
        return values if arg_type in ("list[str]", "matchers") else " ".join(values)
    text = normalize_placeholders(value, bare_caps=True)
    if arg_type == "int" and re.fullmatch(r"-?\d+", text):
        return int(text)
    if arg_type == "bool" and text.lower() in ("true", "false"):
        return text.lower() == "true"
    if arg_type in ("list[str]", "matchers") and not is_placeholder(text):
        return [text]
    return text
