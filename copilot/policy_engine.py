"""Evaluate compiled Cedar with parsed cedarpy handles: policy slices and a verdict cache.

Cedar stays the authority: every verdict is one Cedar computed, for this request or for a
request it cannot tell apart from this one (``policy_reads``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import cedarpy

from copilot.errors import ConfigError
from copilot.policy_cedar import PolicyMeta, Verdict
from copilot.policy_reads import Reads, analyze, context_key, role_gates

log = logging.getLogger(__name__)

CACHE_LIMIT = 20_000  # verdicts and per-user entity handles
SLICE_LIMIT = 2_000  # PolicySet slices per (action, gating roles held)


@dataclass(frozen=True)
class _Slice:
    """The policies that can decide one action for principals holding some roles, and what they read."""

    policies: cedarpy.PolicySet
    reads: Reads
    roles: frozenset[str]  # the roles that can change which policies are here or what they decide
    size: int


class CedarEngine:
    """Parsed Schema / Entities handles, PolicySet slices, and a verdict cache keyed by what Cedar can see.

    Cedar evaluates every policy of a set (a few µs each), so a request goes to the smallest
    set that decides it exactly like the full one (``policyN`` ids kept, so reasons map back):
    - per action: only policies whose action scope can include the action;
    - per principal: minus the policies role-gated to roles the principal does not hold
      (``policy_reads.role_gates``: such a policy can neither match nor raise an error).

    The verdict cache key is (action, tool, the principal's roles that the slice mentions,
    the user only if a policy names a user, and ``policy_reads.context_key``: the context
    attributes the slice reads, integers bucketed by the literals they are compared with,
    the others by kind only). Requests with equal keys are indistinguishable to the slice,
    so a hit returns what Cedar would return (tested against fresh Cedar on random calls).
    Contexts the key cannot vouch for are keyed by their exact JSON. Each cache is cleared
    when it reaches its limit (CACHE_LIMIT, SLICE_LIMIT).
    """

    def __init__(
        self,
        policies: str,
        schema: dict[str, Any],
        entities: list[dict[str, Any]],
        metas: Sequence[PolicyMeta],
    ) -> None:
        try:
            self._schema = cedarpy.Schema.from_json_str(json.dumps(schema))
            self._policies = cedarpy.PolicySet.from_str(policies)
            self._base = cedarpy.Entities.from_json_str(json.dumps(entities), self._schema)
        except ValueError as exc:
            raise ConfigError(
                f"the compiled Cedar policy does not load ({exc}); report this with your policy file"
            ) from None
        self._metas = {f"policy{i}": meta for i, meta in enumerate(metas)}
        self._parsed: dict[str, Any] = json.loads(cedarpy.policies_to_json_str(policies))["staticPolicies"]
        self._groups = {
            name: {g["id"] for g in spec.get("memberOf", [])} for name, spec in schema[""]["actions"].items()
        }
        flat_roles = all(not e["parents"] for e in entities if e["uid"]["type"] == "Role")
        self._gates = {pid: role_gates(p) if flat_roles else [] for pid, p in self._parsed.items()}
        self._actions: dict[str, tuple[dict[str, Any], frozenset[str], cedarpy.PolicySet]] = {}
        self._slices: dict[tuple[str, frozenset[str]], _Slice] = {}
        self._users: dict[tuple[str, frozenset[str]], cedarpy.Entities] = {}
        self._verdicts: dict[tuple[Any, ...], Verdict] = {}
        self.text = policies
        self.policy_count = len(metas)
        self.cache_enabled = True  # benchmarks switch it off to time Cedar on every call
        self.hits = 0
        self.misses = 0

    def clear_caches(self) -> None:
        """Forget cached verdicts, slices and per-user entities (benchmarks start cold with it)."""
        self.forget_verdicts()
        self._slices.clear()
        self._users.clear()
        self.hits = self.misses = 0

    def forget_verdicts(self) -> None:
        self._verdicts.clear()

    def _action_policies(self, action: str) -> tuple[dict[str, Any], frozenset[str], cedarpy.PolicySet]:
        """Policies whose action scope can include ``action``, the roles gating them, and their set."""
        found = self._actions.get(action)
        if found is None:
            wanted = {action} | self._groups.get(action, set())
            kept = {pid: p for pid, p in self._parsed.items() if _scope_may_include(p["action"], wanted)}
            gated = frozenset(r for pid in kept for gate in self._gates[pid] for r in gate)
            found = self._actions[action] = (kept, gated, _policy_set(kept))
        return found

    def policies_for(self, action: str, roles: frozenset[str] | None = None) -> cedarpy.PolicySet:
        """The PolicySet slice for ``action`` (and, given ``roles``, for a principal holding them)."""
        if roles is None:
            return self._action_policies(action)[2]
        return self._slice(action, roles).policies

    def _slice(self, action: str, roles: frozenset[str]) -> _Slice:
        kept, gated, _ = self._action_policies(action)
        key = (action, roles & gated)
        found = self._slices.get(key)
        if found is None:
            mine = {pid: p for pid, p in kept.items() if all(g & roles for g in self._gates[pid])}
            reads = analyze(mine.values())
            found = _Slice(_policy_set(mine), reads, gated | reads.roles, len(mine))
            if len(self._slices) >= SLICE_LIMIT:
                self._slices.clear()
            self._slices[key] = found
        return found

    def _entities(self, user: str, roles: frozenset[str]) -> cedarpy.Entities:
        key = (user, roles)
        found = self._users.get(key)
        if found is None:
            if len(self._users) >= CACHE_LIMIT:
                self._users.clear()
            delta = [
                {
                    "uid": {"type": "User", "id": user},
                    "attrs": {},
                    "parents": [{"type": "Role", "id": r} for r in sorted(roles)],
                }
            ]
            found = self._base.with_added_json_str(json.dumps(delta))
            self._users[key] = found
        return found

    def cache_key(
        self, user: str, roles: frozenset[str], action: str, tool: str, context: Mapping[str, Any]
    ) -> tuple[Any, ...]:
        """The verdict cache key of a request: equal keys, same verdict (see the class docstring)."""
        found = self._slice(action, roles)
        seen = context_key(found.reads, context)
        if seen is None:
            seen = ("exact", json.dumps(context))
        who = user if found.reads.user_identity else None
        return (action, tool, roles & found.roles, who, seen)

    def authorize(
        self,
        user: str,
        roles: frozenset[str],
        action: str,
        tool: str,
        context: Mapping[str, Any],
        *,
        use_cache: bool = True,
    ) -> Verdict:
        use_cache = use_cache and self.cache_enabled
        key = self.cache_key(user, roles, action, tool, context) if use_cache else None
        if key is not None:
            if (hit := self._verdicts.get(key)) is not None:
                self.hits += 1
                return hit
            self.misses += 1
        request = {
            "principal": {"type": "User", "id": user},
            "action": {"type": "Action", "id": action},
            "resource": {"type": "Tool", "id": tool},
            "context": json.dumps(context),
        }
        policies = self._slice(action, roles).policies
        result = cedarpy.is_authorized(request, policies, self._entities(user, roles), self._schema)
        if result.diagnostics.errors:
            log.warning("cedar evaluation errors for %s %s: %s", action, user, result.diagnostics.errors)
        verdict = self.verdict(result)
        if key is not None:
            if len(self._verdicts) >= CACHE_LIMIT:
                self._verdicts.clear()
            self._verdicts[key] = verdict
        return verdict

    def verdict(self, result: cedarpy.AuthzResult) -> Verdict:
        """The Verdict of a cedarpy result on these policies (deciding rules in policy order)."""
        decided = sorted(result.diagnostics.reasons, key=lambda pid: int(pid.removeprefix("policy")))
        metas = [self._metas[p] for p in decided if p in self._metas]
        reasons = () if result.allowed else tuple(dict.fromkeys(m.message for m in metas))
        if not result.allowed and not reasons and "failed to build request" in str(result.diagnostics.errors):
            # e.g. an integer beyond Cedar's 64-bit Long: fail closed and say why
            reasons = (
                "the policy cannot evaluate this call (an argument is out of range); use smaller values",
            )
        return Verdict(
            allowed=result.allowed, rule_ids=tuple(dict.fromkeys(m.rule_id for m in metas)), reasons=reasons
        )

    def bare_request(
        self, user: str, roles: frozenset[str], action: str, tool: str, context: Mapping[str, Any]
    ) -> tuple[dict[str, Any], cedarpy.PolicySet, cedarpy.Entities, cedarpy.Schema]:
        """is_authorized arguments for one request with the full PolicySet (benchmarks, equivalence tests)."""
        request = {
            "principal": {"type": "User", "id": user},
            "action": {"type": "Action", "id": action},
            "resource": {"type": "Tool", "id": tool},
            "context": dict(context),
        }
        return request, self._policies, self._entities(user, roles), self._schema


def _policy_set(policies: Mapping[str, Any]) -> cedarpy.PolicySet:
    return cedarpy.PolicySet.from_json_str(
        json.dumps({"staticPolicies": dict(policies), "templates": {}, "templateLinks": []})
    )


def _scope_may_include(scope: Mapping[str, Any], wanted: set[str]) -> bool:
    """Whether a policy's action scope (Cedar JSON form) can include an action or one of its groups."""
    if scope.get("op") == "All":
        return True
    entities = scope.get("entities") or ([scope["entity"]] if "entity" in scope else None)
    if entities is None:
        return True  # an unknown scope shape: keep the policy, never drop one that might apply
    return any(e.get("id") in wanted for e in entities)
