"""Words for lexical ranking: the tokenizer, ops shorthand, status synonyms and learned initialisms.

Tokenizer: lowercase words; a CamelCase name (``KubePodCrashLooping``, ``ACMRemoteWriteError``)
yields the whole name and its parts; stop words dropped; ops shorthand expanded (on both sides, index
and query, so "prom svc" meets "Prometheus service"); a light suffix stemmer folds plurals, -ing/-ed
forms and a final -e, so "nodes", "node"; "caches", "caching", "cache"; "degraded", "degrade" meet.

Status synonyms: the words an engineer uses for a state ("vanished", "unreachable") against the
word alert names use for it ("Down"). They widen only what a query *covers* of a runbook's name
(``CoverageIndex``), never the body text, so a runbook's own wording still decides BM25.

Initialisms: on-call engineers shorten multi-part component names to their initials ("kcm" for
kube-controller-manager, "cvo" for cluster-version-operator). ``Initialisms`` learns them from the
hyphenated names in the corpus itself, and expands a query word only when the corpus does not use
that word and one name clearly dominates its initials.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Container, Iterable

WORD = re.compile(r"[A-Za-z0-9]+")
_CAMEL_PART = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")
STOP = frozenset("""a an and are as at be been but by can do does for from has have how i if in into is it
its of on or so that the their then there these this to was were what when where which while who will with you
your we our my me us pls please""".split())
# Common ops shorthand, expanded on both sides (index and query) so "prom svc" meets "Prometheus service".
ABBREVIATIONS = {
    "k8s": "kubernetes", "prom": "prometheus", "svc": "service", "svcs": "services", "ns": "namespace",
    "ctrl": "control", "cert": "certificate", "certs": "certificates", "db": "database", "dbs": "databases",
    "mem": "memory", "perms": "permissions", "cfg": "config", "conf": "config", "repl": "replication",
    "img": "image", "imgs": "images", "deploy": "deployment", "thru": "through", "btw": "", "pls": "",
    "plz": "", "msg": "message", "msgs": "messages", "env": "environment", "auth": "authentication",
}
_IRREGULAR = {"ran": "run", "died": "die", "dies": "die", "dying": "die"}
# Groups of words for one state; a query word in a group covers any word of its group in a name.
STATUS_SYNONYMS = (
    "down unreachable unavailable offline disappeared vanished dead gone absent",
    "fail error erroring broken",
    "slow latency lag laggy sluggish",
    "full fill exhausted",
    "restart crash crashloop bouncing",
)
# a whole hyphenated name: not part of a flag (--a-b-c), a placeholder ($a-b-c, <a-b-c>), a dotted
# or longer name
_INITIALISM_NAME = re.compile(r"(?<![-\w$<{.])[a-z]+(?:-[a-z]+){2,3}(?![-\w])")
_VOWELS = frozenset("aeiou")


@functools.lru_cache(maxsize=1 << 16)
def stem(word: str) -> str:
    """A light stemmer: plurals (-s, -es, -ies), -ing, -ed, -ly, and a final -e the way Porter's
    stemmer treats it, so "fire", "fires", "firing", "fired" meet and "plane" stays apart from
    "planned"; short words and words with digits are kept as they are."""
    if word in _IRREGULAR:
        return _IRREGULAR[word]
    if len(word) <= 3 or not word.isalpha():
        return word
    if word.endswith(("ies", "ied")) and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith(("sses", "xes", "ches", "shes", "zzes")):
        word = word[:-2]
    elif word.endswith("s"):
        if not word.endswith(("ss", "us", "is")):
            word = word[:-1]
    else:
        word = _strip_verb_suffix(word)
    if word.endswith("e") and len(word) > 3:
        base = word[:-1]
        if _measure(base) > 1 or (_measure(base) == 1 and not _ends_cvc(base)):
            word = base
    return word


def _strip_verb_suffix(word: str) -> str:
    for suffix in ("ing", "edly", "ed", "ly"):
        base = word[: -len(suffix)]
        if word.endswith(suffix) and len(base) >= 3 and any(c in _VOWELS for c in base):
            if suffix in ("ing", "ed") and base[-1] == base[-2] and base[-1] not in "lsz" + "aeiou":
                return base[:-1]  # running -> run, stopped -> stop
            if suffix in ("ing", "ed") and _measure(base) == 1 and _ends_cvc(base):
                return base + "e"  # firing -> fire, timed -> time
            return base
    return word


def _is_consonant(word: str, i: int) -> bool:
    if word[i] in _VOWELS:
        return False
    return word[i] != "y" or i == 0 or not _is_consonant(word, i - 1)


def _measure(word: str) -> int:
    """Porter's m: the number of vowel-consonant runs in ``word``."""
    kinds = "".join("c" if _is_consonant(word, i) else "v" for i in range(len(word)))
    return len(re.findall(r"v+c+", kinds))


def _ends_cvc(word: str) -> bool:
    """Consonant, vowel, consonant at the end, the last not w, x or y ("fir", "tim", "plan")."""
    return (len(word) >= 3 and _is_consonant(word, len(word) - 3) and not _is_consonant(word, len(word) - 2)
            and _is_consonant(word, len(word) - 1) and word[-1] not in "wxy")


def tokenize(text: str) -> list[str]:
    """Index/query tokens of ``text``."""
    tokens: list[str] = []
    for raw in WORD.findall(text):
        expanded = ABBREVIATIONS.get(raw.lower())
        if expanded is not None:
            tokens.extend(stem(word) for word in expanded.split())
            continue
        parts = _CAMEL_PART.findall(raw)
        lowered = raw.lower()
        if len(parts) > 1 and lowered not in STOP:
            tokens.append(stem(lowered))
        for part in parts if len(parts) > 1 else [raw]:
            word = part.lower()
            if word not in STOP and len(word) > 1:
                tokens.append(stem(word))
    return tokens


def synonym_table(groups: Iterable[str] = STATUS_SYNONYMS) -> dict[str, tuple[str, ...]]:
    """Stemmed word -> the stemmed words of its group (itself included)."""
    table: dict[str, tuple[str, ...]] = {}
    for group in groups:
        words = tuple(dict.fromkeys(stem(word) for word in group.split()))
        for word in words:
            table[word] = tuple(dict.fromkeys(table.get(word, ()) + words))
    return table


class Initialisms:
    """Initials of the corpus's hyphenated names (3 or 4 parts): ``kcm`` -> ``kube controller manager``.

    A query word is expanded when it is at least 3 letters, not a stop word, absent from the
    corpus vocabulary, and one name the corpus uses at least ``min_uses`` times accounts for at
    least ``dominance`` of that initialism's uses."""

    def __init__(self, texts: Iterable[str], vocabulary: Container[str],
                 dominance: float = 2 / 3, min_uses: int = 2) -> None:
        names: Counter[str] = Counter()
        for text in texts:
            names.update(_INITIALISM_NAME.findall(text))
        by_initials: dict[str, Counter[str]] = {}
        for name, count in names.items():
            initials = "".join(part[0] for part in name.split("-"))
            by_initials.setdefault(initials, Counter())[name] += count
        self._expansions: dict[str, str] = {}
        for initials, counts in by_initials.items():
            (best, uses), = counts.most_common(1)
            if uses >= min_uses and uses >= dominance * sum(counts.values()):
                self._expansions[initials] = best.replace("-", " ")
        self._vocabulary = vocabulary

    def expand(self, query: str) -> list[str]:
        """The expansions (``kube controller manager``) of the query's words that are initialisms."""
        found = []
        for raw in WORD.findall(query):
            word = raw.lower()
            if len(word) < 3 or word in STOP or stem(word) in self._vocabulary:
                continue
            expansion = self._expansions.get(word)
            if expansion and expansion not in found:
                found.append(expansion)
        return found
