"""Guard decision time per call: full catalog, a generated policy of 200+ rules.

    .venv/bin/python benchmarks/guard.py [--teams 60] [--calls 3000] [--rounds 3]

The policy is the shipped policy.yaml plus 4 generated rules per team (read-only access,
workload changes with their own approvers, a replica limit, a prod rollback ban), each team
with its own role, namespaces (team<i>-*) and bound users. Calls cover every catalog tool,
with arguments varied so most calls are distinct.

Prints p50 / p99 of ``Guard.check`` per call:
- cold: the verdict cache off, so Cedar evaluates every call;
- warm: the same calls again with the cache on (a repeated call skips Cedar);
and of a bare ``cedarpy.is_authorized`` on the same requests with the same parsed handles,
plus the ratios guard / bare.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cedarpy
import yaml

from copilot.catalog import Catalog, load_catalog
from copilot.domain import Principal, ToolCall, ToolSpec
from copilot.guard import Guard, escalate_risk
from copilot.policy import Policy, parse_policy

REPO = Path(__file__).resolve().parent.parent


def generated_policy(catalog: Catalog, teams: int) -> Policy:
    doc = yaml.safe_load((REPO / "policy.yaml").read_text())
    for i in range(teams):
        team, ns = f"team{i}", [f"team{i}-*"]
        doc["roles"][team] = {"description": f"team {i}"}
        doc["bindings"]["users"][f"user{i}"] = [team]
        doc["bindings"]["groups"][f"group{i}"] = [team, "viewer"]
        doc["rules"] += [
            {"id": f"{team}-investigate", "tools": ["read-only"], "request": [team], "namespaces": ns},
            {"id": f"{team}-workloads", "tools": ["restart_deployment", "scale_deployment", "delete_pod"],
             "request": [team], "approve": [team, "sre-lead"], "namespaces": ns},
            {"id": f"{team}-replicas", "tools": ["scale_deployment"], "roles": [team], "namespaces": ns,
             "limits": {"replicas": {"max": 10 + i % 10}}},
            {"id": f"{team}-no-prod-rollback", "effect": "forbid", "tools": ["rollback_deployment"],
             "roles": [team], "environments": ["prod"]},
        ]
    return parse_policy(yaml.safe_dump(doc, sort_keys=False), catalog, source="generated-policy.yaml")


def sample_args(spec: ToolSpec, rng: random.Random, teams: int) -> dict[str, Any]:
    namespace = f"team{rng.randrange(teams)}-{rng.choice(['prod', 'dev', 'staging'])}"
    values: dict[str, Any] = {
        "namespace": namespace, "replicas": rng.randrange(1, 15), "concurrency": rng.randrange(1, 900),
        "cidr": f"203.0.{rng.randrange(256)}.{rng.randrange(256)}", "size": f"{rng.randrange(1, 500)}Gi",
        "paths": [f"/static/{rng.randrange(10_000)}.js"],
        "matchers": [f"alertname=Alert{rng.randrange(500)}"],
        "duration": f"{rng.randrange(1, 12)}h", "enabled": rng.random() < 0.5, "range": "1h",
        "min_replicas": 1, "max_replicas": rng.randrange(2, 40), "to_revision": rng.randrange(1, 9),
    }
    args = {}
    for arg in spec.args:
        if arg.name in values:
            args[arg.name] = values[arg.name]
        elif arg.type == "str":
            args[arg.name] = f"{arg.name}-{rng.randrange(1000)}"
    return args


def workload(catalog: Catalog, teams: int, count: int) -> list[tuple[ToolCall, Principal]]:
    rng = random.Random(42)
    specs = list(catalog)
    roles = ["viewer", "oncall", "sre-lead", "admin"]
    out = []
    for i in range(count):
        spec = specs[i % len(specs)]
        if rng.random() < 0.5:
            who = Principal(name=f"user{rng.randrange(teams)}")
        else:
            who = Principal(name=f"p{rng.randrange(200)}", roles=frozenset({rng.choice(roles)}))
        out.append((ToolCall(tool=spec.name, args=sample_args(spec, rng, teams)), who))
    return out


def percentiles(samples_ns: list[int]) -> tuple[float, float]:
    cuts = statistics.quantiles(samples_ns, n=100)
    return cuts[49] / 1000, cuts[98] / 1000


def best_of(rounds: int, measure: Callable[[], list[int]]) -> tuple[float, float]:
    """p50 and p99 (µs) of the least disturbed of ``rounds`` runs (this machine is shared)."""
    return min((percentiles(measure()) for _ in range(rounds)), key=lambda pair: pair[0])


def time_guard(guard: Guard, calls: list[tuple[ToolCall, Principal]]) -> list[int]:
    samples = []
    clock = time.perf_counter_ns
    for call, who in calls:
        start = clock()
        guard.check(call, who)
        samples.append(clock() - start)
    return samples


def bare_requests(policy: Policy, catalog: Catalog, calls: list[tuple[ToolCall, Principal]]) -> list[Any]:
    """The exact Cedar request the guard makes for each call, with the same parsed handles."""
    out = []
    for call, who in calls:
        spec = catalog.get(call.tool)
        args = catalog.validate_args(spec.name, call.args)
        target = catalog.target(ToolCall(tool=spec.name, args=args))
        env = policy.environment_for(args.get("namespace"), target)
        namespace = str(args.get("namespace", ""))
        risk = policy.requirements(spec, escalate_risk(spec, args)[0], env, namespace).risk
        context = policy.context(spec, args, environment=env, target=target, risk=risk)
        roles = policy.effective_roles(who)
        out.append(policy.engine.bare_request(who.name, roles, f"request:{spec.name}", spec.name, context))
    return out


def time_bare(requests: list[Any], policy: Policy | None = None) -> list[int]:
    """Bare is_authorized per request: the full PolicySet, or (given ``policy``) the guard's action slice."""
    samples = []
    clock = time.perf_counter_ns
    for request, policies, entities, schema in requests:
        if policy is not None:
            policies = policy.engine.policies_for(request["action"]["id"])
        start = clock()
        cedarpy.is_authorized(request, policies, entities, schema)
        samples.append(clock() - start)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--teams", type=int, default=60)
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3, help="report the best of N rounds per figure")
    opts = parser.parse_args()
    catalog = load_catalog(REPO / "tools")
    started = time.perf_counter()
    policy = generated_policy(catalog, opts.teams)
    load_s = time.perf_counter() - started
    guard = Guard(catalog, policy)
    calls = workload(catalog, opts.teams, opts.calls)
    outcomes: dict[str, int] = {}
    for call, who in calls:
        outcome = guard.check(call, who).outcome
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    print(f"catalog: {len(catalog)} tools; policy: {len(policy.doc.rules)} YAML rules -> {policy.rule_count} "
          f"Cedar policies, {len(policy.roles)} roles; load+compile+validate {load_s * 1000:.0f} ms")
    print(f"workload: {len(calls)} calls over every tool; outcomes {outcomes}")

    policy.engine.cache_enabled = False
    time_guard(guard, calls[:300])  # warm up the interpreter, not the cache
    cold = best_of(opts.rounds, lambda: time_guard(guard, calls))
    policy.engine.cache_enabled = True
    time_guard(guard, calls)  # fill the verdict cache
    warm = best_of(opts.rounds, lambda: time_guard(guard, calls))
    requests = bare_requests(policy, catalog, calls)
    time_bare(requests[:300])
    bare = best_of(opts.rounds, lambda: time_bare(requests))
    bare_slice = best_of(opts.rounds, lambda: time_bare(requests, policy))

    width = 46
    print(f"{'best of ' + str(opts.rounds) + ' rounds':{width}}{'p50 µs':>9}{'p99 µs':>9}")
    print(f"{'guard.check, cold (Cedar every call)':{width}}{cold[0]:9.1f}{cold[1]:9.1f}")
    print(f"{'guard.check, warm (verdict cache hit)':{width}}{warm[0]:9.1f}{warm[1]:9.1f}")
    print(f"{'bare cedarpy.is_authorized, full PolicySet':{width}}{bare[0]:9.1f}{bare[1]:9.1f}")
    print(f"{'bare cedarpy.is_authorized, action slice':{width}}{bare_slice[0]:9.1f}{bare_slice[1]:9.1f}")
    print(f"ratio guard/bare (full set) at p50: cold {cold[0] / bare[0]:.2f}x, warm {warm[0] / bare[0]:.2f}x")
    print(f"ratio guard/bare (same slice) at p50: cold {cold[0] / bare_slice[0]:.2f}x, "
          f"warm {warm[0] / bare_slice[0]:.2f}x")
    verdict = "met" if warm[0] < 100 else "NOT met"
    print(f"goal p50 < 100 µs: {verdict} warm ({warm[0]:.1f} µs); cold {cold[0]:.1f} µs")


if __name__ == "__main__":
    main()
