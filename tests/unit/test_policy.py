"""policy.yaml: loading, one-line errors with file:line and fix, Cedar compilation and equivalence."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path
from typing import Any

import cedarpy
import pytest

from copilot.catalog import Catalog
from copilot.domain import ArgSpec, Principal, Risk, ToolCall, ToolSpec
from copilot.errors import ConfigError
from copilot.guard import Guard
from copilot.policy import Policy, load_policy, parse_policy
from copilot.policy_cedar import build_schema


@pytest.fixture(scope="module")
def shipped_text(repo_root: Path) -> str:
    return (repo_root / "policy.yaml").read_text()


@pytest.fixture(scope="module")
def policy(catalog: Catalog, repo_root: Path) -> Policy:
    return load_policy(repo_root / "policy.yaml", catalog)


def _mutate(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"fixture text {old!r} must occur once"
    return text.replace(old, new)


# (old, new, phrase in the error, text of the line the error must point at)
BROKEN = [
    (
        "request: [sre-lead, admin]\n",
        "request: [sre, admin]\n",
        "role 'sre' is not defined; did you mean 'sre-lead'? defined roles: viewer, oncall, sre-lead, admin",
        "request: [sre, admin]",
    ),
    (
        "tools: [failover_database]",
        "tools: [failover_db]",
        "tool 'failover_db' is not in the catalog; did you mean",
        "tools: [failover_db]",
    ),
    ("  - id: investigate\n", "  - id: investigate\n   bad: [\n", "YAML syntax error", None),
    (
        "    approvals: 0\n",
        "    approval: 0\n",
        "unknown key 'approval' at rules.1.approval; allowed keys here: id,",
        "approval: 0",
    ),
    (
        "limits: {replicas: {max: 20}}",
        "limits: {replicas: {max: twenty}}",
        "limit replicas.max must be a whole number, got 'twenty'",
        "limits: {replicas",
    ),
    (
        "limits: {replicas: {max: 20}}",
        "limits: {deployment: {max: 20}}",
        "tool 'scale_deployment' has a str argument 'deployment'",
        "limits: {deployment",
    ),
    (
        "environments: [dev]",
        "environments: [develop]",
        "environment 'develop' is not defined; did you mean 'dev'?",
        "environments: [develop]",
    ),
    (
        "approve: [oncall]\n    approvals: 1",
        "approve: [oncall]\n    approvals: 0",
        "gives mutating tool 'rollback_deployment' 0 approvals",
        "approvals: 0",
    ),
    (
        "approve: [oncall]\n    approvals: 1",
        "approve: [viewer]\n    approvals: 1",
        "can_approve: false",
        "approve: [viewer]",
    ),
    ("dave: [viewer]", "dave: [viewers]", "role 'viewers' is not defined", "dave: [viewers]"),
    ("id: silence-max", "id: silence-oncall", "rule id 'silence-oncall' is already used by rules[", None),
    (
        "  admin: {description",
        "  oncall: {}\n  admin: {description",
        "key 'oncall' appears twice",
        "  oncall: {}",
    ),
    ("defaults:\n", "defaultz:\n", "unknown key 'defaultz'", "defaultz:"),
    (
        "    roles: [oncall]\n    environments: [prod]",
        "    roles: [oncall]\n    request: [oncall]\n    environments: [prod]",
        "forbid rule 'no-oncall-drain-in-prod' cannot set request",
        "    request: [oncall]",
    ),
    ("risk: high\n", "risk: extreme\n", "risk: Input should be 'low', 'medium' or 'high'", "risk: extreme"),
    ("ttl: 5m", "ttl: soon", "is not a duration", "ttl: soon"),
    (
        "notify: [create_ticket, page_oncall]",
        "notify: [create_ticket, drain_node]",
        "'drain_node' is mutating",
        "notify: [create_ticket",
    ),
    ("tools: [failover_database]", "tools: [toolset:dbs]", "'toolset:dbs' matches no tool", "toolset:dbs"),
    (
        '{namespace: "*-dev", env: dev}',
        '{namespace: "*-dev", target: "x", env: dev}',
        "exactly one of",
        'target: "x"',
    ),
    ("version: 1\n", "version: 2\n", "version: Input should be 1", "version: 2"),
    (
        "    risk: high\n    reason:",
        "    risk: high\n    risks: [high]\n    reason:",
        "is scoped by risks: and cannot also raise risk:",
        "risk: high",
    ),
    ("risks: [low, medium]", "risks: [low, severe]", "Input should be 'low', 'medium' or 'high'", "risks:"),
]


@pytest.mark.parametrize(("old", "new", "phrase", "line_text"), BROKEN, ids=[b[2][:40] for b in BROKEN])
def test_broken_policy_gives_one_line_with_file_line_and_fix(
    catalog: Catalog, shipped_text: str, old: str, new: str, phrase: str, line_text: str | None
) -> None:
    text = _mutate(shipped_text, old, new)
    with pytest.raises(ConfigError) as caught:
        parse_policy(text, catalog, source="policy.yaml")
    message = str(caught.value)
    assert "\n" not in message
    assert phrase in message
    match = re.match(r"^policy\.yaml:(\d+): ", message)
    assert match, message
    if line_text is not None:
        start = text[: text.index(new)].count("\n") + 1  # search from the edited line on
        lines = text.splitlines()[start - 1 :]
        expected = start + next(i for i, line in enumerate(lines) if line_text in line)
        assert int(match.group(1)) == expected, message


@pytest.mark.parametrize(
    ("cedar", "phrase"),
    [
        ("permit(principal action resource);", "Cedar does not parse"),
        (
            'forbid(principal, action == Action::"request:get_logs", resource) '
            "when { context.args.nope == 1 };",
            "Cedar validation failed",
        ),
        (
            'permit(principal in Role::"oncall", action == Action::"request:no_such_tool", resource);',
            "Cedar validation failed",
        ),
    ],
)
def test_bad_raw_cedar_points_at_the_cedar_key(
    catalog: Catalog, shipped_text: str, cedar: str, phrase: str
) -> None:
    text = shipped_text + "\ncedar: |\n  " + cedar + "\n"
    with pytest.raises(ConfigError) as caught:
        parse_policy(text, catalog, source="p.yaml")
    line = next(i for i, t in enumerate(text.splitlines(), 1) if t.startswith("cedar:"))
    assert str(caught.value).startswith(f"p.yaml:{line}: {phrase}")


def test_missing_files_name_the_fix(catalog: Catalog, tmp_path: Path, shipped_text: str) -> None:
    with pytest.raises(ConfigError, match="cannot read the policy file"):
        load_policy(tmp_path / "nope.yaml", catalog)
    (tmp_path / "p.yaml").write_text(shipped_text + "\ncedar_file: extra.cedar\n")
    with pytest.raises(ConfigError, match=r"p\.yaml:\d+: cannot read .*extra\.cedar"):
        load_policy(tmp_path / "p.yaml", catalog)


@pytest.mark.parametrize("text", ["- a\n- b\n", "just text\n", "roles: {}\n"])
def test_not_a_policy_at_all(catalog: Catalog, text: str) -> None:
    with pytest.raises(ConfigError, match=r"^x\.yaml:1: "):
        parse_policy(text, catalog, source="x.yaml")


# --------------------------------------------------------------------------- Cedar compilation


def test_shipped_policy_validates_against_generated_schema(policy: Policy, catalog: Catalog) -> None:
    schema = build_schema(catalog)
    result = cedarpy.validate_policies(policy.cedar_text, json.dumps(schema))
    assert result.validation_passed, result.errors
    actions = schema[""]["actions"]
    assert len(actions) == 2 * len(catalog) + 3
    assert actions["request:drain_node"]["memberOf"] == [{"id": "request"}, {"id": "mutating"}]
    args = actions["request:scale_deployment"]["appliesTo"]["context"]["attributes"]["args"]["attributes"]
    assert args["replicas"] == {"type": "Long", "required": True}
    assert policy.rule_count == policy.cedar_text.count("@id(")


RAW = """
cedar: |
  @id("no-oncall-secrets") @reason("secrets are rotated by leads")
  forbid(principal in Role::"oncall", action == Action::"request:rotate_secret", resource);
  @id("viewer-tickets")
  permit(principal in Role::"viewer", action == Action::"request:create_ticket", resource);
"""


def test_raw_cedar_is_appended_and_its_reasons_read(
    catalog: Catalog, shipped_text: str, tmp_path: Path
) -> None:
    for policy in (
        parse_policy(shipped_text + RAW, catalog),
        _with_cedar_file(catalog, shipped_text, tmp_path),
    ):
        guard = Guard(catalog, policy)
        oncall, viewer = (
            Principal(name="o", roles=frozenset({"oncall"})),
            Principal(name="v", roles=frozenset({"viewer"})),
        )
        denied = guard.check(ToolCall(tool="rotate_secret", args={"secret": "s"}), oncall)
        assert denied.outcome == "deny" and "secrets are rotated by leads" in denied.reasons
        allowed = guard.check(ToolCall(tool="create_ticket", args={"title": "t"}), viewer)
        assert allowed.outcome == "allow" and "rule 'viewer-tickets'" in allowed.reasons[0]


def _with_cedar_file(catalog: Catalog, shipped_text: str, tmp_path: Path) -> Policy:
    cedar = RAW.split("|\n", 1)[1].replace("\n  ", "\n")
    (tmp_path / "extra.cedar").write_text(cedar)
    (tmp_path / "policy.yaml").write_text(shipped_text + "\ncedar_file: extra.cedar\n")
    return load_policy(tmp_path / "policy.yaml", catalog)


def _sample_args(spec: ToolSpec) -> dict[str, Any]:
    samples = {
        "int": 1,
        "bool": True,
        "str": "x",
        "duration": "1h",
        "cidr": "203.0.113.7/32",
        "size": "1Gi",
        "list[str]": ["/a"],
        "matchers": ["alertname=X"],
    }

    def value(arg: ArgSpec) -> Any:
        return arg.choices[0] if arg.choices else samples[arg.type]

    return {a.name: value(a) for a in spec.args if a.required}


RISKS: tuple[Risk, ...] = ("low", "medium", "high")


def test_python_summary_agrees_with_cedar(policy: Policy, catalog: Catalog) -> None:
    """The who-may table (Python over the YAML) and Cedar (the authority) agree on every tool x role x env."""
    checked = 0
    for spec in catalog:
        args = catalog.validate_args(spec.name, _sample_args(spec))
        for env, risk in itertools.product(policy.doc.env_names(), RISKS):
            needs = policy.requirements(spec, risk, env, "x")
            context = policy.context(  # Cedar sees the final risk, as in Guard.check
                spec,
                {**args, "namespace": "x"} if "namespace" in args else args,
                environment=env,
                target="x",
                risk=needs.risk,
            )
            for role in policy.roles:
                principal = Principal(name=f"u-{role}", roles=frozenset({role}))
                forbidden = spec.name == "drain_node" and role == "oncall" and env == "prod"
                expected = role in needs.request_roles and not forbidden
                assert policy.authorize("request", principal, spec.name, context).allowed == expected, (
                    spec.name,
                    env,
                    role,
                )
                approve = policy.authorize("approve", principal, spec.name, context).allowed
                assert approve == (role in needs.approver_roles), (spec.name, env, role)
                checked += 1
    assert checked == len(catalog) * 3 * 3 * 4


def test_verdict_cache_returns_what_cedar_returns(policy: Policy, catalog: Catalog) -> None:
    spec = catalog.get("scale_deployment")
    for replicas in (0, 5, 20, 21):
        args = {"namespace": "shop", "deployment": "web", "replicas": replicas}
        context = policy.context(spec, args, environment="prod", target="shop/web", risk="medium")
        for role in policy.roles:
            who = Principal(name="u", roles=frozenset({role}))
            first = policy.authorize("request", who, spec.name, context)
            assert policy.authorize("request", who, spec.name, context) == first  # cached
            assert policy.authorize("request", who, spec.name, context, use_cache=False) == first


# ---------------------------------------------------------- environments, roles, requirements


@pytest.mark.parametrize(
    ("namespace", "target", "env"),
    [
        ("shop", "shop/web", "prod"),
        ("shop-dev", "shop-dev/web", "dev"),
        ("dev-payments", "dev-payments/x", "dev"),
        ("sandbox1", "sandbox1/x", "dev"),
        ("shop-staging", "x", "staging"),
        ("staging", "x", "staging"),
        (None, "node-1", "prod"),
        (None, "staging-node-3", "staging"),
        (None, "db:staging-orders", "staging"),
        (None, "db:orders", "prod"),
    ],
)
def test_environment_for(policy: Policy, namespace: str | None, target: str, env: str) -> None:
    assert policy.environment_for(namespace, target) == env


def test_effective_roles_merge_bindings_and_drop_unknown(policy: Policy) -> None:
    who = Principal(name="alice", roles=frozenset({"admin", "wizard"}), groups=frozenset({"support", "x"}))
    assert policy.effective_roles(who) == {"admin", "oncall", "viewer"}
    assert policy.can_ever_approve(who)
    assert not policy.can_ever_approve(Principal(name="dave"))


@pytest.mark.parametrize(
    ("tool", "risk", "env", "approvals", "ttl"),
    [
        ("get_logs", "low", "prod", 0, None),
        ("create_ticket", "low", "prod", 0, None),
        ("page_oncall", "low", "prod", 1, 1800),
        ("delete_pod", "low", "prod", 1, 1800),
        ("restart_deployment", "medium", "prod", 1, 900),
        ("scale_deployment", "high", "dev", 2, 600),
        ("rollback_deployment", "high", "prod", 2, 600),
        ("rollback_deployment", "high", "dev", 1, 600),
        ("rotate_secret", "high", "prod", 2, 300),
        ("resize_pvc", "medium", "prod", 2, 600),
        ("resize_pvc", "medium", "staging", 1, 900),
    ],
)
def test_requirements(
    policy: Policy, catalog: Catalog, tool: str, risk: str, env: str, approvals: int, ttl: int | None
) -> None:
    needs = policy.requirements(catalog.get(tool), risk, env)  # type: ignore[arg-type]
    assert (needs.approvals, needs.ttl_seconds) == (approvals, ttl)


@pytest.mark.parametrize(
    ("tool", "risk", "env", "roles"),
    [
        ("resize_pvc", "medium", "prod", ("sre-lead", "admin")),  # the prod floor makes it high
        ("resize_pvc", "medium", "staging", ("oncall", "sre-lead", "admin")),
        ("run_runbook", "medium", "prod", ("oncall", "sre-lead", "admin")),
        ("run_runbook", "high", "prod", ("sre-lead", "admin")),
        ("run_runbook", "high", "dev", ("oncall", "sre-lead", "admin")),
        ("scale_deployment", "high", "staging", ("oncall", "sre-lead", "admin")),
        ("drain_node", "high", "staging", ("sre-lead", "admin")),
    ],
)
def test_rules_scoped_by_risk_pick_the_approvers(
    policy: Policy, catalog: Catalog, tool: str, risk: Risk, env: str, roles: tuple[str, ...]
) -> None:
    assert policy.requirements(catalog.get(tool), risk, env).approver_roles == roles


def test_summary_lists_who_may_do_what(policy: Policy) -> None:
    rows = {row.tool: row for row in policy.summary()}
    assert rows["scale_deployment"].limits == ("replicas <= 20",)
    assert rows["silence_alert"].limits == ("duration <= 24h for oncall", "duration <= 7d")
    assert rows["get_logs"].kind == "read-only" and rows["page_oncall"].kind == "notify"
    assert rows["rollback_deployment"].approvals == "prod:2 dev:1 staging:2"
    assert "oncall (prod)" in rows["drain_node"].forbidden
    assert rows["failover_database"].request == ("sre-lead, admin",)
    assert rows["resize_pvc"].approve == (
        "sre-lead, admin",
        "oncall (risk low/medium)",
        "oncall (dev, staging)",
    )


GROUP_SCOPED = """
cedar: |
  @id("no-viewer-mutations") @reason("viewers never change anything")
  forbid(principal in Role::"viewer", action in Action::"mutating", resource);
  @id("leads-approve-anything")
  permit(principal in Role::"sre-lead", action in Action::"approve", resource);
  @id("nothing-on-fridays")
  forbid(principal, action, resource) when { context.target == "friday" };
"""


def test_sliced_policy_sets_decide_like_the_full_set(catalog: Catalog, shipped_text: str) -> None:
    """Per-action slices give the same decision and the same deciding policies as the whole PolicySet."""
    policy = parse_policy(shipped_text + GROUP_SCOPED, catalog)
    engine = policy.engine
    compared = 0
    for spec in catalog:
        args = catalog.validate_args(spec.name, _sample_args(spec))
        for env, target in (("prod", "x"), ("dev", "friday")):
            context = policy.context(spec, args, environment=env, target=target, risk=spec.risk)
            for role in policy.roles:
                roles = frozenset({role})
                for kind in ("request", "approve"):
                    action = f"{kind}:{spec.name}"
                    parts = engine.bare_request("u", roles, action, spec.name, context)
                    request, whole, entities, schema = parts
                    full = cedarpy.is_authorized(request, whole, entities, schema)
                    sliced = cedarpy.is_authorized(request, engine.policies_for(action), entities, schema)
                    assert (sliced.allowed, sorted(sliced.diagnostics.reasons)) == (
                        full.allowed,
                        sorted(full.diagnostics.reasons),
                    ), (action, role, env)
                    compared += 1
    assert compared == len(catalog) * 2 * 4 * 2
