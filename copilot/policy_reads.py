"""What a set of Cedar policies can see, read from their JSON (EST) form. Pure.

The Cedar engine uses this for two exact shortcuts (see ``CedarEngine``):

Role gates. A policy whose principal scope is ``principal in Role::"r"``, or whose first
``when`` condition starts with the conjunct ``principal in [Role::"a", Role::"b"]``, is
false for a principal holding none of those roles, and raises no error for it (Cedar
evaluates the scope, then ``&&`` left to right, and stops at the first false). Users are
members of their roles only and roles have no parents, so ``principal in Role::"r"`` is
exactly "r is one of the principal's roles". Dropping such a policy for such a principal
leaves the decision, the deciding policies and the errors unchanged.

Reads. Beyond the action and the resource, Cedar sees a request only through what the
policies mention: context attributes (``context.namespace``, ``context.args.replicas``),
role literals and user literals. Two requests equal in all of that get the same verdict.
An integer attribute used only in comparisons with integer literals (and ``has``) matters
only by where it falls among those literals, its thresholds. Anything this module does
not recognise counts as reading the whole context, which turns the shortcut off.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

Path = tuple[str, ...]  # ("environment",) or ("args", "replicas")
_Plan = tuple[frozenset[str], Mapping[str, tuple[int, ...]]]  # exact names, thresholds by name

_COMPARISONS = {"<", "<=", ">", ">=", "==", "!="}


@dataclass(frozen=True)
class Reads:
    """What a set of policies can observe of a request (beyond action and resource)."""

    whole_context: bool = False  # the context is used as a whole, or in a way not understood
    whole_args: bool = False  # ``context.args`` is used as a whole
    exact: frozenset[Path] = frozenset()  # attributes whose value matters as such
    thresholds: Mapping[Path, tuple[int, ...]] = field(default_factory=dict)  # sorted literals
    roles: frozenset[str] = frozenset()  # Role literals mentioned anywhere
    user_identity: bool = False  # a User literal is mentioned: the user's name can matter

    @cached_property
    def key_plan(self) -> tuple[_Plan, _Plan | None]:
        """Per-name lookups for ``context_key``: top-level attributes, then args (None: args read whole)."""
        top = frozenset(p[0] for p in self.exact if len(p) == 1)
        top_limits = {p[0]: v for p, v in self.thresholds.items() if len(p) == 1}
        if self.whole_args:
            return (top | {"args"}, top_limits), None
        args = frozenset(p[1] for p in self.exact if len(p) == 2)
        arg_limits = {p[1]: v for p, v in self.thresholds.items() if len(p) == 2}
        return (top, top_limits), (args, arg_limits)


def analyze(policies: Iterable[Mapping[str, Any]]) -> Reads:
    """The union of what ``policies`` (EST dicts of static policies) read."""
    walker = _Walker()
    for policy in policies:
        for part in ("principal", "action", "resource"):
            walker.scope(policy.get(part) or {})
        for condition in policy.get("conditions") or ():
            walker.visit(condition.get("body"))
    return walker.result()


def role_gates(policy: Mapping[str, Any]) -> list[frozenset[str]]:
    """Role sets a principal must each meet (hold one of) for ``policy`` to match at all."""
    gates = []
    scope = policy.get("principal") or {}
    entity = scope.get("entity") if scope.get("op") == "in" else None
    if scope.get("op") == "is":
        entity = (scope.get("in") or {}).get("entity")
    if entity is not None and entity.get("type") == "Role":
        gates.append(frozenset({str(entity["id"])}))
    conditions = policy.get("conditions") or []
    if conditions and conditions[0].get("kind") == "when":
        node = conditions[0].get("body")
        while isinstance(node, dict) and "&&" in node:
            node = node["&&"]["left"]
        roles = _principal_in_roles(node)
        if roles is not None:
            gates.append(roles)
    return gates


def _principal_in_roles(node: Any) -> frozenset[str] | None:
    """{r...} for ``principal in Role::"r"`` / ``principal in [Role::"r", ...]``, else None."""
    if not isinstance(node, dict) or set(node) != {"in"}:
        return None
    operands = node["in"]
    if operands.get("left") != {"Var": "principal"}:
        return None
    right = operands.get("right")
    items = right["Set"] if isinstance(right, dict) and "Set" in right else [right]
    roles = set()
    for item in items:
        entity = item.get("Value", {}).get("__entity") if isinstance(item, dict) else None
        if not isinstance(entity, dict) or entity.get("type") != "Role":
            return None
        roles.add(str(entity["id"]))
    return frozenset(roles)


def _context_path(node: Any) -> Path | None:
    """The attribute path of ``context.a.b`` (``()`` for bare ``context``), or None."""
    attrs: list[str] = []
    while isinstance(node, dict) and len(node) == 1 and isinstance(node.get("."), dict):
        attrs.append(str(node["."].get("attr")))
        node = node["."].get("left")
    if node == {"Var": "context"}:
        return tuple(reversed(attrs))
    return None


def _int_literal(node: Any) -> int | None:
    if isinstance(node, dict) and set(node) == {"Value"}:
        value = node["Value"]
        if type(value) is int:
            return value
    return None


class _Walker:
    def __init__(self) -> None:
        self.whole_context = False
        self.whole_args = False
        self.exact: set[Path] = set()
        self.limits: dict[Path, set[int]] = {}
        self.roles: set[str] = set()
        self.user_identity = False

    def result(self) -> Reads:
        thresholds = {p: tuple(sorted(v)) for p, v in self.limits.items() if p not in self.exact}
        return Reads(
            whole_context=self.whole_context,
            whole_args=self.whole_args,
            exact=frozenset(self.exact),
            thresholds=thresholds,
            roles=frozenset(self.roles),
            user_identity=self.user_identity,
        )

    def scope(self, scope: Mapping[str, Any]) -> None:
        entities = list(scope.get("entities") or [])
        for holder in (scope, scope.get("in") or {}):
            if isinstance(holder.get("entity"), dict):
                entities.append(holder["entity"])
        if "slot" in scope or "slot" in (scope.get("in") or {}):
            self.whole_context = True  # templates are not analysed
        for entity in entities:
            self.entity(entity)

    def entity(self, entity: Mapping[str, Any]) -> None:
        if entity.get("type") == "Role":
            self.roles.add(str(entity.get("id")))
        elif entity.get("type") == "User":
            self.user_identity = True

    def use(self, path: Path, *, limit: int | None = None, presence: bool = False) -> None:
        """Record a read of ``context`` + ``path``: exact, against an integer limit, or of presence only."""
        if not path:
            self.whole_context = True
            return
        key = path[:2] if path[0] == "args" else path[:1]
        leaf = len(path) == len(key)
        if key == ("args",):
            self.whole_args = True
        elif leaf and (limit is not None or presence):
            found = self.limits.setdefault(key, set())
            if limit is not None:
                found.add(limit)
        else:
            self.exact.add(key)

    def visit(self, node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                self.visit(item)
            return
        if not isinstance(node, dict):
            return
        if self.special(node):
            return
        for value in node.values():
            self.visit(value)

    def special(self, node: dict[str, Any]) -> bool:
        """Handle the node shapes that read the context or name entities; False to walk it generically."""
        if isinstance(node.get("__entity"), dict):
            self.entity(node["__entity"])  # and walk on: a record literal may use that key
        if node == {"Var": "context"}:
            self.whole_context = True
            return True
        path = _context_path(node)
        if path is not None:
            self.use(path)
            return True
        if len(node) == 1 and isinstance(node.get("has"), dict):
            left_path = _context_path(node["has"].get("left"))
            if left_path is not None and "attr" in node["has"]:
                self.use((*left_path, str(node["has"]["attr"])), presence=True)
                return True
        op = next(iter(node)) if len(node) == 1 else None
        if op in _COMPARISONS and isinstance(node[op], dict):
            return self.comparison(node[op])
        return False

    def comparison(self, operands: Mapping[str, Any]) -> bool:
        left, right = operands.get("left"), operands.get("right")
        for path_node, literal_node in ((left, right), (right, left)):
            path, literal = _context_path(path_node), _int_literal(literal_node)
            if path is not None and literal is not None:
                self.use(path, limit=literal)
                return True
        return False


# --------------------------------------------------------------------------- cache keys

_LONG_MIN, _LONG_MAX = -(2**63), 2**63 - 1
_UNSAFE = object()


def context_key(reads: Reads, context: Mapping[str, Any]) -> tuple[Any, ...] | None:
    """A key equal only for contexts that ``reads`` cannot tell apart; None: use the exact context.

    Read attributes go in by value (integers used only against literals by threshold
    bucket); every other attribute goes in by name and kind only (string, bool, Long,
    string set), and only when Cedar is sure to accept it (a Long in 64 bits, a string
    that encodes as UTF-8). Anything else returns None, so a request Cedar might refuse
    to build is never answered from another request's verdict.
    """
    if reads.whole_context:
        return None
    (top, top_limits), arg_plan = reads.key_plan
    out: list[Any] = []
    for name, value in context.items():
        if name == "args" and arg_plan is not None and type(value) is dict:
            out.append("args")
            names, limits = arg_plan
            for arg, arg_value in value.items():
                token = _token(names, limits, arg, arg_value)
                if token is _UNSAFE:
                    return None
                out += (arg, token)
            continue
        token = _token(top, top_limits, name, value)
        if token is _UNSAFE:
            return None
        out += (name, token)
    return tuple(out)


def _token(exact: frozenset[str], limits: Mapping[str, tuple[int, ...]], name: str, value: Any) -> Any:
    """What of ``value`` goes into the key: itself, its threshold bucket, or its kind."""
    if name in exact:
        return _exact(value)
    if name in limits:
        return _bucket(limits[name], value)
    if type(value) is str:
        return "s" if value.isascii() or _encodable(value) else _UNSAFE
    return _kind(value)


def _bucket(limits: tuple[int, ...], value: Any) -> Any:
    """(how many limits lie below, equals one): decides every comparison with every limit."""
    if type(value) is not int or not _LONG_MIN <= value <= _LONG_MAX:
        return _exact(value)
    rank = 0
    for limit in limits:
        if limit >= value:
            break
        rank += 1
    return ("n", rank, value in limits)


def _exact(value: Any) -> Any:
    if type(value) is str:
        return value
    if type(value) is list:
        items = tuple(_exact(v) for v in value)
        return _UNSAFE if any(v is _UNSAFE for v in items) else ("list", items)
    if type(value) in (int, bool):
        return (type(value).__name__, value)
    if type(value) is dict:
        pairs = tuple((k, _exact(v)) for k, v in value.items())
        return _UNSAFE if any(v is _UNSAFE for _, v in pairs) else ("dict", pairs)
    return _UNSAFE


def _kind(value: Any) -> Any:
    kind = type(value)
    if kind is str:
        return "s" if _encodable(value) else _UNSAFE
    if kind is bool:
        return "b"
    if kind is int:
        return "i" if _LONG_MIN <= value <= _LONG_MAX else _UNSAFE
    if kind is list and all(type(v) is str and _encodable(v) for v in value):
        return "l"
    return _UNSAFE


def _encodable(text: str) -> bool:
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
