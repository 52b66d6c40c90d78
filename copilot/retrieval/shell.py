"""Shell commands in markdown: find them in code blocks and inline code, split them into argv.

A fenced block with prompts (``$ ``, ``sh-4.4# ``, ``[root@host ~]# ``) yields only its prompt
lines (the rest is output). A block without prompts yields the lines that start with a known
program, or every non-comment line when the block is marked ``sh``/``bash``/``shell``. Inline code
spans count when they start with a known program. An indented (4-space, unfenced) code block
counts like an unmarked fenced block: it must follow a blank line or a heading, and inside a list
it must be indented 4 more than the item's text (shallower is the item's own prose).
``\\`` continuations are joined; ``|``, ``||``, ``&&``, ``;`` and ``&`` split a line into separate
commands; redirections are dropped. Alert-template placeholders (``{{ $labels.pod }}``) are
rewritten to ``$POD`` before a line is split, so a template with spaces stays one word.

SQL: a psql prompt line (``db=# SELECT pg_cancel_backend(123);``, ``postgres=> ...``) and, in a
block marked ``sql``/``psql``, a line calling ``pg_cancel_backend``/``pg_terminate_backend`` become
the command ``psql -c "<statement>"`` (text kept as written), so a catalog pattern on ``psql -c``
maps them. ``kubectl|oc exec POD -- patronictl ...`` also yields the inner command on its own.
Nothing here runs a command.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from copilot.retrieval.placeholders import normalize_templates

KNOWN_PROGRAMS = frozenset({
    "kubectl", "oc", "amtool", "promtool", "patronictl", "curl", "aws", "virtctl", "ceph", "rados",
    "etcdctl", "helm", "gcloud", "az", "psql", "redis-cli", "systemctl", "journalctl", "openssl",
    "rbd", "radosgw-admin", "crictl", "podman", "docker", "dig", "nslookup", "vault", "terraform",
    "gh", "wrangler", "cloudflared", "pg_ctl", "pg_isready", "mysql", "ssh", "jq", "copilot",
})
_SHELL_LANGS = frozenset({"sh", "bash", "shell", "zsh", "ksh", "console", "terminal", "shell-session",
                          "bash-session", "shellsession"})
_PROMPT = re.compile(r"^\s*(?:\$|(?:sh|bash)-[\d.]+[#$]|\[[^\]\n]+\][#$]|[\w.-]+@[\w.-]+[:~\w/]*[#$])\s+")
_FENCE = re.compile(r"^\s*(```+|~~~+)\s*([\w+-]*)")
_INLINE = re.compile(r"`([^`]+)`")
_PSQL_PROMPT = re.compile(r"^\s*[A-Za-z_][\w.-]*=[#>]\s*")
_PSQL_CONTINUATION = re.compile(r"^\s*[A-Za-z_][\w.-]*[-(*'\"]#\s*")
_SQL_LANGS = frozenset({"sql", "psql", "postgresql", "postgres", "pgsql", "plpgsql"})
_SQL_BACKEND_CALL = re.compile(r"\bpg_(?:cancel|terminate)_backend\s*\(", re.IGNORECASE)
_LIST_ITEM = re.compile(r"^(\s*)([-*+]|\d{1,9}[.)])(\s+)\S")
_HEADING = re.compile(r"^\s{0,3}#{1,6}(\s|$)")
_CODE_INDENT = 4
_ENV_ASSIGN = re.compile(r"^[A-Za-z_]\w*=")
_ANGLE_PLACEHOLDER = re.compile(r"<[A-Za-z][\w .,'-]*>")


@dataclass(frozen=True)
class ShellCommand:
    """One simple command: its text as written, argv without quotes, and its 1-based line."""

    text: str
    argv: tuple[str, ...]
    line: int

    @property
    def program(self) -> str:
        return self.argv[0].rsplit("/", 1)[-1] if self.argv else ""


def commands_in_markdown(lines: Sequence[str], first_line: int = 1) -> list[ShellCommand]:
    """Every shell command in ``lines`` (line ``first_line`` is ``lines[0]``)."""
    found: list[ShellCommand] = []
    for text, line, is_sql in _command_lines(lines):
        number = line + first_line - 1
        if is_sql:
            prompt = _PSQL_PROMPT.match(text)
            statement = text[prompt.end():] if prompt else text
            found.append(ShellCommand(text, ("psql", "-c", statement.strip()), number))
            continue
        for seg, argv in split_command_line(text):
            found.append(ShellCommand(seg, argv, number))
            inner = exec_inner_command(argv)
            if inner:
                found.append(ShellCommand(seg, inner, number))
    return [cmd for cmd in found if cmd.argv]


def exec_inner_command(argv: Sequence[str]) -> tuple[str, ...]:
    """The known program a ``kubectl|oc exec ... -- CMD`` runs inside a pod (``patronictl``,
    ``psql``, ``curl``...), as its own argv; empty when there is none (or it is a shell)."""
    if len(argv) < 4 or argv[0].rsplit("/", 1)[-1] not in ("kubectl", "oc") or "exec" not in argv[1:4]:
        return ()
    if "--" not in argv:
        return ()
    inner = tuple(_strip_prefixes(argv[argv.index("--") + 1:]))
    return inner if inner and inner[0].rsplit("/", 1)[-1] in KNOWN_PROGRAMS else ()


def _command_lines(lines: Sequence[str]) -> Iterator[tuple[str, int, bool]]:
    index = 0
    list_indent: int | None = None  # text indent of the list item the current lines belong to
    while index < len(lines):
        fence = _FENCE.match(lines[index])
        if fence:
            end = index + 1
            while end < len(lines) and not lines[end].strip().startswith(fence.group(1)):
                end += 1
            yield from _block_commands(lines[index + 1:end], index + 2, fence.group(2).lower())
            index = end + 1
            continue
        code_indent = _CODE_INDENT + (list_indent or 0)
        if _opens_indented_code(lines, index, code_indent):
            end = _indented_block_end(lines, index, code_indent)
            block = [line.expandtabs(4)[code_indent:] if line.strip() else "" for line in lines[index:end]]
            yield from _block_commands(block, index + 1, "")
            index = end
            continue
        list_indent = _list_context(lines, index, list_indent)
        yield from _inline_commands(lines[index], index + 1)
        index += 1


def _indent(line: str) -> int:
    expanded = line.expandtabs(4)
    return len(expanded) - len(expanded.lstrip())


def _opens_indented_code(lines: Sequence[str], index: int, code_indent: int) -> bool:
    """An indented code block starts here: deep enough, after a blank line, a heading or the start."""
    line = lines[index]
    if not line.strip() or _indent(line) < code_indent:
        return False
    previous = lines[index - 1] if index else ""
    return not previous.strip() or bool(_HEADING.match(previous))


def _indented_block_end(lines: Sequence[str], start: int, code_indent: int) -> int:
    end = start
    for number in range(start, len(lines)):
        if lines[number].strip() and _indent(lines[number]) < code_indent:
            break
        if lines[number].strip():
            end = number + 1
    return end


def _list_context(lines: Sequence[str], index: int, list_indent: int | None) -> int | None:
    """The text indent of the list item ``lines[index]`` belongs to, or None outside lists."""
    line = lines[index]
    item = _LIST_ITEM.match(line.expandtabs(4))
    if item:
        gap = len(item.group(3))
        return len(item.group(1)) + len(item.group(2)) + (gap if gap <= 4 else 1)
    if not line.strip() or list_indent is None:
        return list_indent
    previous_blank = index > 0 and not lines[index - 1].strip()
    if _HEADING.match(line) or (previous_blank and _indent(line) < list_indent):
        return None  # a heading or an unindented paragraph after a blank line ends the list
    return list_indent


def _inline_commands(line: str, number: int) -> Iterator[tuple[str, int, bool]]:
    for span in _INLINE.findall(line):
        words = span.split()
        if len(words) >= 2 and words[0] in KNOWN_PROGRAMS:
            yield span, number, False


def _block_commands(block: Sequence[str], first: int, lang: str) -> Iterator[tuple[str, int, bool]]:
    """Command lines of a code block; the flag marks SQL statements (psql prompt or sql block)."""
    prompted = any(_PROMPT.match(line) or _PSQL_PROMPT.match(line) for line in block)
    index = 0
    while index < len(block):
        raw, start = block[index], index
        prompt = _PROMPT.match(raw)
        index += 1
        if _PSQL_PROMPT.match(raw):
            yield raw.strip(), first + start, True
            continue
        if lang in _SQL_LANGS:
            if _SQL_BACKEND_CALL.search(raw) and not _PSQL_CONTINUATION.match(raw):
                yield raw.strip(), first + start, True
            continue
        if prompted and not prompt:
            continue
        text = raw[prompt.end():] if prompt else raw.strip()
        while text.rstrip().endswith(("\\", "|", "&&")) and index < len(block):
            text = text.rstrip().removesuffix("\\") + " " + block[index].strip()
            index += 1
        if prompted or _looks_like_command(text, lang):
            yield text.strip(), first + start, False


def _looks_like_command(text: str, lang: str) -> bool:
    words = text.split()
    if not words or words[0].startswith("#"):
        return False
    program = _strip_prefixes(words)[0] if _strip_prefixes(words) else ""
    if program in KNOWN_PROGRAMS:
        return True
    return lang in _SHELL_LANGS - {"console", "terminal"} and bool(re.match(r"^[a-z][\w./-]*$", program))


def _strip_prefixes(argv: Sequence[str]) -> list[str]:
    """Drop ``sudo``, ``time`` and ``VAR=value`` prefixes."""
    out = list(argv)
    while out and (out[0] in ("sudo", "time", "command", "exec") or _ENV_ASSIGN.match(out[0])):
        out.pop(0)
    return out


def split_command_line(text: str) -> list[tuple[str, tuple[str, ...]]]:
    """Split a line into simple commands: ``[(segment_text, argv), ...]``."""
    segments = _Lexer(normalize_templates(text)).segments()
    return [(seg.strip(), tuple(_strip_prefixes(argv))) for seg, argv in segments]


class _Lexer:
    """A small POSIX-ish lexer: quotes, ``$( )`` and backticks kept whole, separators split."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.out: list[tuple[str, list[str]]] = []
        self.argv: list[str] = []
        self.word: list[str] = []
        self.in_word = False
        self.seg_start = 0
        self.skip_next_word = False

    def segments(self) -> list[tuple[str, list[str]]]:
        text = self.text
        while self.pos < len(text):
            char = text[self.pos]
            if char in "'\"":
                self._quoted(char)
            elif char == "$" and text[self.pos + 1:self.pos + 2] == "(" or char == "`":
                self._subshell()
            elif char.isspace():
                self._end_word()
                self.pos += 1
            elif char in "|;&":
                self._separator()
            elif char in "<>":
                self._redirection()
            elif char == "#" and not self.in_word:
                break
            elif char == "\\" and self.pos + 1 < len(text):
                self._add(text[self.pos + 1])
                self.pos += 2
            else:
                self._add(char)
                self.pos += 1
        self._end_segment(len(text))
        return self.out

    def _add(self, chars: str) -> None:
        self.word.append(chars)
        self.in_word = True

    def _quoted(self, quote: str) -> None:
        end = self.text.find(quote, self.pos + 1)
        end = len(self.text) if end < 0 else end
        body = self.text[self.pos + 1:end]
        self._add(body.replace('\\"', '"') if quote == '"' else body)
        self.pos = end + 1

    def _subshell(self) -> None:
        start, depth = self.pos, 0
        closing = ")" if self.text[self.pos] == "$" else "`"
        self.pos += 2 if closing == ")" else 1
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if closing == ")" and char == "(":
                depth += 1
            elif char == closing and depth == 0:
                break
            elif char == ")":
                depth -= 1
            self.pos += 1
        self.pos += 1
        self._add(self.text[start:self.pos])

    def _separator(self) -> None:
        if self.text[self.pos] == "&" and self.word and self.word[-1].endswith(">"):
            self._add("&")  # 2>&1 is a redirection, not a separator
            self.pos += 1
            return
        self._end_word()
        self._end_segment(self.pos)
        while self.pos < len(self.text) and self.text[self.pos] in "|;&":
            self.pos += 1
        self.seg_start = self.pos

    def _redirection(self) -> None:
        placeholder = _ANGLE_PLACEHOLDER.match(self.text, self.pos)
        if placeholder:  # <pod-name> is a placeholder, not a redirection
            self._add(placeholder.group(0))
            self.pos = placeholder.end()
            return
        if self.word and "".join(self.word).isdigit():
            self.word, self.in_word = [], False
        while self.pos < len(self.text) and self.text[self.pos] in "<>&0123456789":
            self.pos += 1
        self.skip_next_word = True

    def _end_word(self) -> None:
        if self.in_word:
            if self.skip_next_word:
                self.skip_next_word = False
            else:
                self.argv.append("".join(self.word))
        self.word, self.in_word = [], False

    def _end_segment(self, end: int) -> None:
        self._end_word()
        if self.argv:
            self.out.append((self.text[self.seg_start:end], self.argv))
        self.argv = []
