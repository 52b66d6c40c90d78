"""What Cedar policies read, and the engine's shortcuts built on it: role-gated slices and a
verdict cache keyed by what the policies can see. The equivalence test is the proof that
neither changes a decision: cached and sliced verdicts == fresh Cedar on the full PolicySet.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import cedarpy
import pytest
import yaml

from copilot import argtypes
from copilot.catalog import Catalog
from copilot.domain import Principal, Risk, ToolSpec
from copilot.policy import Policy, parse_policy
from copilot.policy_reads import Reads, analyze, context_key, role_gates


def _est(cedar: str) -> list[dict[str, Any]]:
    parsed = json.loads(cedarpy.policies_to_json_str(cedar))["staticPolicies"]
    return [parsed[pid] for pid in sorted(parsed, key=lambda p: int(p.removeprefix("policy")))]


def _when(condition: str) -> str:
    return f"permit(principal, action, resource) when {{ {condition} }};"


# ---------------------------------------------------------------------------- analyze

ARGS = ("args",)


@pytest.mark.parametrize(
    ("cedar", "exact", "thresholds", "flags"),
    [
        (_when('context.environment == "prod"'), {("environment",)}, {}, set()),
        (_when('context.namespace like "team1-*"'), {("namespace",)}, {}, set()),
        (_when("context.args.replicas > 20"), set(), {(*ARGS, "replicas"): (20,)}, set()),
        (_when("20 < context.args.replicas"), set(), {(*ARGS, "replicas"): (20,)}, set()),
        (
            _when("context.args has replicas && (context.args.replicas > 20 || context.args.replicas == 3)"),
            set(),
            {(*ARGS, "replicas"): (3, 20)},
            set(),
        ),
        (_when("context.args has tail_lines"), set(), {(*ARGS, "tail_lines"): ()}, set()),
        (_when("context.args.replicas + 1 > 20"), {(*ARGS, "replicas")}, {}, set()),
        (
            _when("context.args.replicas > 20 && [1, 2].contains(context.args.replicas)"),
            {(*ARGS, "replicas")},
            {},
            set(),
        ),
        (_when('context.args.replicas == "3"'), {(*ARGS, "replicas")}, {}, set()),
        (_when('context.args["zone"] == "www"'), {(*ARGS, "zone")}, {}, set()),
        (_when("context.freeze"), {("freeze",)}, {}, set()),
        (_when("context.args == {}"), set(), {}, {"whole_args"}),
        (_when("context has args"), set(), {}, {"whole_args"}),
        (_when("context == {}"), set(), {}, {"whole_context"}),
        (_when('{"a": context}.a.freeze'), set(), {}, {"whole_context"}),
        ('permit(principal == User::"bob", action, resource);', set(), {}, {"user_identity"}),
        (_when('principal in [Role::"a", User::"bob"]'), set(), {}, {"user_identity"}),
        (_when('resource.toolset == "cdn"'), set(), {}, set()),
    ],
)
def test_analyze_finds_what_policies_read(
    cedar: str,
    exact: set[tuple[str, ...]],
    thresholds: dict[tuple[str, ...], tuple[int, ...]],
    flags: set[str],
) -> None:
    reads = analyze(_est(cedar))
    assert reads.exact == exact
    assert dict(reads.thresholds) == thresholds
    assert {f for f in ("whole_context", "whole_args", "user_identity") if getattr(reads, f)} == flags


def test_analyze_collects_role_literals_from_scope_and_conditions() -> None:
    cedar = 'permit(principal in Role::"a", action, resource) when { principal in [Role::"b"] };'
    cedar += _when('!(principal in Role::"c")')
    assert analyze(_est(cedar)).roles == {"a", "b", "c"}


@pytest.mark.parametrize(
    ("cedar", "gates"),
    [
        ('permit(principal in Role::"a", action, resource);', [{"a"}]),
        ('permit(principal is User in Role::"a", action, resource);', [{"a"}]),
        (_when('principal in [Role::"a", Role::"b"] && context.freeze'), [{"a", "b"}]),
        (_when('principal in Role::"a" && context.freeze && context.args.x > 1'), [{"a"}]),
        (
            'forbid(principal in Role::"a", action, resource) when { principal in [Role::"b"] };',
            [{"a"}, {"b"}],
        ),
        (_when("principal in []"), [set()]),
        (_when('context.freeze && principal in [Role::"a"]'), []),  # not the first conjunct
        (_when('principal in Role::"a" || context.freeze'), []),
        (_when('principal in [Role::"a", User::"bob"]'), []),
        ('permit(principal, action, resource) unless { principal in [Role::"a"] };', []),
        ('permit(principal == User::"bob", action, resource);', []),
        ("permit(principal, action, resource);", []),
    ],
)
def test_role_gates(cedar: str, gates: list[set[str]]) -> None:
    assert role_gates(_est(cedar)[0]) == [frozenset(g) for g in gates]


# ---------------------------------------------------------------------------- context keys

READS = Reads(exact=frozenset({("namespace",)}), thresholds={("args", "replicas"): (3, 20)})


def _context(**args: Any) -> dict[str, Any]:
    return {"namespace": "shop", "target": "shop/web", "freeze": False, "args": args}


@pytest.mark.parametrize(
    ("one", "other", "same"),
    [
        (_context(replicas=5, pod="a"), _context(replicas=19, pod="b"), True),
        (_context(replicas=20), _context(replicas=19), False),
        (_context(replicas=20), _context(replicas=21), False),
        (_context(replicas=3), _context(replicas=4), False),
        (_context(replicas=-5), _context(replicas=2), True),
        (_context(replicas=21), _context(replicas=10**6), True),
        (_context(replicas=5), _context(replicas=True), False),
        (_context(replicas=5), _context(replicas="5"), False),
        (_context(replicas=5), _context(), False),
        (_context(replicas=5, pod="a"), _context(replicas=5), False),
        (_context(pod="a"), _context(job="a"), False),
        (_context(pod="a"), _context(pod=1), False),
        (_context(pod="a"), _context(pod=["a"]), False),
        ({**_context(), "namespace": "a"}, {**_context(), "namespace": "b"}, False),
        ({**_context(), "target": "a"}, {**_context(), "target": "b"}, True),
    ],
)
def test_context_key_equal_only_when_the_policies_cannot_tell(
    one: dict[str, Any], other: dict[str, Any], same: bool
) -> None:
    key = context_key(READS, one)
    assert key is not None
    assert (key == context_key(READS, other)) is same


@pytest.mark.parametrize(
    "context",
    [
        _context(pod="\ud800"),  # Cedar refuses to build a request with a lone surrogate
        _context(tail_lines=2**63),  # beyond Cedar's 64-bit Long
        _context(tail_lines=1.5),
        _context(labels=["a", 1]),
        _context(extra={"a": 1}),
        {**_context(), "target": None},
    ],
)
def test_context_key_refuses_what_cedar_might_refuse(context: dict[str, Any]) -> None:
    assert context_key(READS, context) is None


def test_context_key_is_off_when_the_whole_context_is_read() -> None:
    assert context_key(Reads(whole_context=True), _context()) is None


# ---------------------------------------------------------------------------- equivalence

EXTRA_CEDAR = """
  @id("no-viewer-mutations") @reason("viewers never change anything")
  forbid(principal in Role::"viewer", action in Action::"mutating", resource);
  @id("nothing-on-fridays")
  forbid(principal, action, resource) when { context.target == "friday" };
  @id("bob-never-kills-queries")
  forbid(principal == User::"bob", action == Action::"request:kill_query", resource);
  @id("tail-cap")
  forbid(principal, action == Action::"request:get_logs", resource)
  when { context.args has tail_lines && context.args.tail_lines >= 5000 };
  @id("no-three-in-team1")
  forbid(principal in Role::"oncall", action == Action::"request:scale_deployment", resource)
  when { context.args.replicas == 3 && context.namespace like "team1-*" };
  @id("leads-approve-anything")
  permit(principal in Role::"sre-lead", action in Action::"approve", resource);
"""
TEAMS = 6


@pytest.fixture(scope="module")
def busy_policy(catalog: Catalog, repo_root: Path) -> Policy:
    """The shipped policy plus team rules (role-gated, namespaced, limits) and hand-written Cedar."""
    doc = yaml.safe_load((repo_root / "policy.yaml").read_text())
    for i in range(TEAMS):
        team, ns = f"team{i}", [f"team{i}-*"]
        doc["roles"][team] = {"description": f"team {i}"}
        doc["bindings"]["users"][f"user{i}"] = [team]
        doc["rules"] += [
            {"id": f"{team}-read", "tools": ["read-only"], "request": [team], "namespaces": ns},
            {
                "id": f"{team}-workloads",
                "tools": ["restart_deployment", "scale_deployment", "delete_pod"],
                "request": [team],
                "approve": [team, "sre-lead"],
                "namespaces": ns,
            },
            {
                "id": f"{team}-replicas",
                "tools": ["scale_deployment"],
                "roles": [team],
                "namespaces": ns,
                "limits": {"replicas": {"max": 10 + i}},
            },
            {
                "id": f"{team}-no-prod-rollback",
                "effect": "forbid",
                "tools": ["rollback_deployment"],
                "roles": [team],
                "environments": ["prod"],
            },
        ]
    doc["cedar"] = EXTRA_CEDAR
    return parse_policy(yaml.safe_dump(doc, sort_keys=False), catalog, source="busy-policy.yaml")


NAMESPACES = ["shop", "kube-system", "openshift-x", "team1-prod", "team1-dev", "team2-staging"]
# around every limit of busy_policy (3, 10..15, 20, 50, 1000, 5000), plus Long's edges
INTS = [-1, 0, 2, 3, 4, 10, 11, 12, 19, 20, 21, 50, 51, 1000, 1001, 4999, 5000, 5001, 2**63 - 1, 2**63]
# tools with numeric limits or hand-written rules come up more often
FOCUS = [
    "scale_deployment",
    "get_logs",
    "update_hpa",
    "set_function_concurrency",
    "silence_alert",
    "kill_query",
]
DURATIONS = ["30m", "1h", "24h", "25h", "7d", "8d"]


def _random_args(spec: ToolSpec, rng: random.Random) -> dict[str, Any]:
    """Canonical-looking args: policy-visible values from small pools, names nearly unique."""
    args: dict[str, Any] = {}
    for arg in spec.args:
        if not arg.required and rng.random() < 0.4:
            continue
        if arg.name == "namespace":
            args[arg.name] = rng.choice(NAMESPACES)
        elif arg.type == "int":
            args[arg.name] = rng.choice(INTS)
        elif arg.type == "bool":
            args[arg.name] = rng.random() < 0.5
        elif arg.type == "duration":
            args[arg.name] = argtypes.duration_seconds(rng.choice(DURATIONS))
        elif arg.type in ("list[str]", "matchers"):
            args[arg.name] = [f"x{rng.randrange(10**6)}" for _ in range(rng.randrange(1, 3))]
        elif arg.choices:
            args[arg.name] = rng.choice(arg.choices)
        else:
            odd = rng.random() < 0.03
            args[arg.name] = "bad\ud800name" if odd else f"{arg.name}-{rng.randrange(10**6)}"
    return args


def _variant(args: dict[str, Any], spec: ToolSpec, rng: random.Random) -> dict[str, Any]:
    """A sibling call: the names re-drawn, and one integer or duration moved to another value."""
    out = dict(args)
    for arg in spec.args:
        if arg.name in out and arg.type == "str" and not arg.choices and arg.name != "namespace":
            out[arg.name] = f"{arg.name}-{rng.randrange(10**6)}"
    numbers = [a.name for a in spec.args if a.name in out and a.type in ("int", "duration")]
    if numbers:
        name = rng.choice(numbers)
        out[name] = rng.choice(INTS) if type(out[name]) is int else out[name]
    return out


def test_cached_and_sliced_verdicts_equal_fresh_cedar_on_the_full_policy_set(
    busy_policy: Policy, catalog: Catalog
) -> None:
    """Random calls, each followed by sibling calls that differ in names and in one number:
    the cached verdict, the uncached role-sliced verdict and a fresh Cedar run on the whole
    PolicySet agree on decision, deciding rules and reasons, call after call."""
    rng = random.Random(20240602)
    engine = busy_policy.engine
    engine.clear_caches()
    frozen = busy_policy.with_freeze(True)
    specs = list(catalog) + [catalog.get(name) for name in FOCUS] * 4
    users = ["alice", "bob", "carol", "dave", "user1", "user2", "anon"]
    roles = ["viewer", "oncall", "sre-lead", "admin", "team1", "team2", "unknown-role"]
    outcomes: dict[str, int] = {}
    calls = 0
    for _ in range(800):
        spec = rng.choice(specs)
        policy = frozen if rng.random() < 0.2 else busy_policy
        who = Principal(name=rng.choice(users), roles=frozenset(rng.sample(roles, rng.randrange(0, 3))))
        kind = "approve" if rng.random() < 0.25 else "request"
        target = rng.choice(["friday", "t-1", "t-2"]) if rng.random() < 0.2 else spec.name
        risk: Risk = rng.choice(["low", "medium", "high"])
        args = _random_args(spec, rng)
        for _sibling in range(4):
            environment = policy.environment_for(args.get("namespace"), target)
            context = policy.context(spec, args, environment=environment, target=target, risk=risk)
            cached = policy.authorize(kind, who, spec.name, context)  # type: ignore[arg-type]
            sliced = policy.authorize(kind, who, spec.name, context, use_cache=False)  # type: ignore[arg-type]
            request, whole, entities, schema = engine.bare_request(
                who.name, policy.effective_roles(who), f"{kind}:{spec.name}", spec.name, context
            )
            fresh = engine.verdict(cedarpy.is_authorized(request, whole, entities, schema))
            assert cached == fresh, (kind, spec.name, who, context)
            assert sliced == fresh, (kind, spec.name, who, context)
            label = (
                "allow" if fresh.allowed else "unevaluable" if "evaluate" in str(fresh.reasons) else "deny"
            )
            outcomes[label] = outcomes.get(label, 0) + 1
            calls += 1
            args = _variant(args, spec, rng)
    # the test means something only if the cache answered often, for calls it never saw exactly
    assert engine.hits > calls // 3, (engine.hits, engine.misses)
    assert min(outcomes.get(k, 0) for k in ("allow", "deny", "unevaluable")) >= 10, outcomes


def test_role_slices_drop_policies_gated_to_other_roles(busy_policy: Policy) -> None:
    engine = busy_policy.engine
    action = "request:scale_deployment"
    whole = len(json.loads(cedarpy.policies_to_json_str(str(engine.policies_for(action))))["staticPolicies"])
    team1 = engine.policies_for(action, frozenset({"team1"}))
    kept = json.loads(cedarpy.policies_to_json_str(str(team1)))["staticPolicies"]
    notes = {p["annotations"].get("id") for p in kept.values()}
    assert "team1-workloads/request" in notes and "team1-replicas/limit/replicas" in notes
    assert not any(n and n.startswith(("team0-", "team2-")) for n in notes)
    assert len(kept) < whole
