"""Shell commands in markdown: find them in code blocks and inline code, split them into argv.

A fenced block with prompts (``$ ``, ``sh-4.4# ``, ``[root@host ~]# ``) yields only its prompt
lines (the rest is output). A block without prompts yields the lines that start with a known
program, or every non-comment line when the block is marked ``sh``/``bash``/``shell``. Inline code
spans count when they start with a known program. ``\\`` continuations are joined; ``|``, ``||``,
``&&``, ``;`` and ``&`` split a line into separate commands; redirections are dropped.
Nothing here runs a command.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

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
    for text, line in _command_lines(lines):
        found.extend(ShellCommand(seg, argv, line + first_line - 1) for seg, argv in split_command_line(text))
    return [cmd for cmd in found if cmd.argv]


def _command_lines(lines: Sequence[str]) -> Iterator[tuple[str, int]]:
    index = 0
    while index < len(lines):
        fence = _FENCE.match(lines[index])
        if not fence:
            yield from _inline_commands(lines[index], index + 1)
            index += 1
            continue
        end = index + 1
        while end < len(lines) and not lines[end].strip().startswith(fence.group(1)):
            end += 1
        yield from _block_commands(lines[index + 1:end], index + 2, fence.group(2).lower())
        index = end + 1


def _inline_commands(line: str, number: int) -> Iterator[tuple[str, int]]:
    for span in _INLINE.findall(line):
        words = span.split()
        if len(words) >= 2 and words[0] in KNOWN_PROGRAMS:
            yield span, number


def _block_commands(block: Sequence[str], first: int, lang: str) -> Iterator[tuple[str, int]]:
    prompted = any(_PROMPT.match(line) for line in block)
    index = 0
    while index < len(block):
        raw, start = block[index], index
        prompt = _PROMPT.match(raw)
        index += 1
        if prompted and not prompt:
            continue
        text = raw[prompt.end():] if prompt else raw.strip()
        while text.rstrip().endswith(("\\", "|", "&&")) and index < len(block):
            text = text.rstrip().removesuffix("\\") + " " + block[index].strip()
            index += 1
        if prompted or _looks_like_command(text, lang):
            yield text.strip(), first + start


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
    return [(seg.strip(), tuple(_strip_prefixes(argv))) for seg, argv in _Lexer(text).segments()]


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
