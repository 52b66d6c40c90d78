"""Redaction: tables of fake-but-format-valid secrets that must be masked, ops lines that must not.

Every secret here is invented for this file (random, seeded); none is a real credential.
"""

from __future__ import annotations

import base64
import json
import random
import re
import string
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from copilot.redaction import MARKER, Finding, find_secrets, redact, redact_obj, secret_key_kind

UPPER_DIGITS = string.ascii_uppercase + string.digits
ALNUM = string.ascii_letters + string.digits
B64 = ALNUM + "+/"


def _pick(rng: random.Random, alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_jwt(rng: random.Random) -> str:
    header = _b64url(json.dumps({"alg": rng.choice(["HS256", "RS256"]), "typ": "JWT"}).encode())
    payload = _b64url(
        json.dumps({"sub": _pick(rng, ALNUM, 10), "iat": rng.randint(10**9, 2 * 10**9)}).encode()
    )
    return f"{header}.{payload}.{_pick(rng, ALNUM + '-_', 43)}"


def make_private_key(rng: random.Random) -> str:
    label = rng.choice(["RSA PRIVATE KEY", "EC PRIVATE KEY", "PRIVATE KEY", "OPENSSH PRIVATE KEY"])
    body = "\n".join(_pick(rng, B64, 64) for _ in range(rng.randint(3, 8)))
    return f"-----BEGIN {label}-----\n{body}\n-----END {label}-----"


def make_basic(rng: random.Random) -> str:
    user_pass = f"{_pick(rng, string.ascii_lowercase, 6)}:{_pick(rng, ALNUM, 14)}"
    return base64.b64encode(user_pass.encode()).decode()


# kind -> (secret maker, line templates with {s} where the secret goes)
SecretMaker = Callable[[random.Random], str]
SECRET_KINDS: dict[str, tuple[SecretMaker, tuple[str, ...]]] = {
    "aws_access_key": (
        lambda r: r.choice(["AKIA", "ASIA"]) + _pick(r, UPPER_DIGITS, 16),
        (
            "export AWS_ACCESS_KEY_ID={s}",
            "aws configure set aws_access_key_id {s} --profile prod",
            'found key "{s}" in the job env',
        ),
    ),
    "aws_secret_key": (
        lambda r: _pick(r, B64, 40),
        ("aws_secret_access_key = {s}", "AWS_SECRET_ACCESS_KEY={s} terraform apply"),
    ),
    "slack_token": (
        lambda r: (
            f"xox{r.choice('bpa')}-{_pick(r, string.digits, 11)}-{_pick(r, string.digits, 12)}-"
            + _pick(r, string.ascii_lowercase + string.digits, 24)
        ),
        ("SLACK_BOT_TOKEN={s}", "posting with {s} to #ops failed: ratelimited", "slack: {s}"),
    ),
    "slack_webhook": (
        lambda r: (
            f"https://hooks.slack.com/services/T{_pick(r, UPPER_DIGITS, 8)}/B{_pick(r, UPPER_DIGITS, 10)}/"
            + _pick(r, ALNUM, 24)
        ),
        ("alertmanager receiver url: {s}", "curl -X POST {s} -d @msg.json"),
    ),
    "github_token": (
        lambda r: r.choice(["ghp_", "gho_", "ghs_"]) + _pick(r, ALNUM, 36),
        (
            "git clone https://x-access-token:{s}@github.com/acme/infra.git",
            "GITHUB_TOKEN={s}",
            "auth with {s} failed",
        ),
    ),
    "gitlab_token": (
        lambda r: "glpat-" + _pick(r, ALNUM, 20),
        ("CI_TOKEN={s}", "using {s} for registry login"),
    ),
    "jwt": (
        make_jwt,
        ("Authorization: Bearer {s}", "sa token is {s} (copied from the pod)", '{{"id_token": "{s}"}}'),
    ),
    "private_key": (
        make_private_key,
        ("here is the key:\n{s}\nplease rotate it", "tls.key: |\n{s}"),
    ),
    "connection_string": (
        lambda r: _pick(r, ALNUM, 16),
        (
            "DATABASE_URL=postgres://app:{s}@db-primary.prod:5432/orders",
            "mysql://root:{s}@10.2.3.4:3306/shop",
            "mongodb+srv://svc:{s}@cluster0.example.net/app",
            "redis://:{s}@redis-master:6379/0",
            "amqp://guest:{s}@rabbitmq:5672/",
        ),
    ),
    "bearer_token": (
        lambda r: _pick(r, ALNUM + "-._", 40),
        ("curl -H 'Authorization: Bearer {s}' https://api.internal/v1/jobs", "Bearer {s}"),
    ),
    "basic_auth": (
        make_basic,
        ("Authorization: Basic {s}", "proxy sent basic {s} upstream"),
    ),
    "password": (
        lambda r: _pick(r, ALNUM + "!#%^*", 14),
        (
            "password={s} user=admin",
            'db_password: "{s}"',
            "PGPASSWORD={s} psql -h db",
            "--password {s}",
            "mysql -u root -p{s} -h db",
            "the prod db password is {s}",
            '{{"password": "{s}"}}',
        ),
    ),
    "keyword_secret": (
        lambda r: _pick(r, ALNUM, 32),
        (
            "client_secret={s}",
            "api_key: {s}",
            "X-Api-Key: {s}",
            "token={s}&user=1",
            "--token {s}",
            "secret='{s}'",
            "refresh_token: {s}",
        ),
    ),
    "vendor_key": (
        lambda r: r.choice(["sk_live_", "sk_test_"]) + _pick(r, ALNUM, 24),
        ("STRIPE_KEY={s}", "charging with {s}"),
    ),
    "google_api_key": (
        lambda r: "AIza" + _pick(r, ALNUM + "-_", 35),
        ("maps key {s} leaked in the frontend bundle",),
    ),
    "sendgrid_key": (
        lambda r: f"SG.{_pick(r, ALNUM, 22)}.{_pick(r, ALNUM, 43)}",
        ("SENDGRID={s}",),
    ),
    "vault_token": (
        lambda r: "hvs." + _pick(r, ALNUM, 24),
        ("VAULT_TOKEN={s} vault kv get secret/app", "login: {s}"),
    ),
}

PER_KIND = 30


def _generated_cases() -> list[tuple[str, str, str]]:
    rng = random.Random(20251130)  # fixed seed: the table is the same on every run
    cases = []
    for kind, (make, templates) in SECRET_KINDS.items():
        for i in range(PER_KIND):
            secret = make(rng)
            cases.append((kind, templates[i % len(templates)].format(s=secret), secret))
    return cases


GENERATED = _generated_cases()


@pytest.mark.parametrize(
    ("kind", "line", "secret"), GENERATED, ids=[f"{k}-{i}" for i, (k, _, _) in enumerate(GENERATED)]
)
def test_generated_secret_is_masked_and_context_kept(kind: str, line: str, secret: str) -> None:
    out = redact(line)
    assert secret not in out
    before, _, after = line.partition(secret)
    assert out.startswith(before), f"text before the {kind} changed: {out!r}"
    assert out.endswith(after), f"text after the {kind} changed: {out!r}"
    assert MARKER.search(out)


# Hand-written lines whose kind is asserted too.
KIND_CASES = [
    ("export AWS_ACCESS_KEY_ID=AKIAQ3EGRT5XJ7KLMN2P", "aws_access_key"),
    ("token=xoxb-21804420123-883212340012-k2l3m4n5o6p7q8r9s0t1u2v3", "slack_token"),
    ("GH_TOKEN ghp_Zx8Kq2Lm4Np6Rt8Vw0Yb2Dc4Fg6Hj8Kl0Mn2P", "github_token"),
    ("postgres://app:Pa55w0rdZ@db:5432/orders", "connection_string"),
    ("-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAvX\n-----END RSA PRIVATE KEY-----", "private_key"),
    ("password=Tr0ub4dor&3", "password"),
    ("Authorization: Bearer 6f1c2d9e8a7b4c3d2e1f0a9b8c7d6e5f", "authorization_header"),
    ("apiVersion: v1\nkind: Secret\ndata:\n  tls.key: LS0tLS1CRUdJTg==\n", "kube_secret"),
    ("Cookie: session=8f3a9c1d2e4b5a6f7c8d9e0f1a2b3c4d", "cookie"),
    ("VAULT_TOKEN=hvs.CAESIJ3k9dLm2Qp8Rt6Vw4Xy1Za3", "vault_token"),
]


@pytest.mark.parametrize(("line", "kind"), KIND_CASES)
def test_kind_is_named(line: str, kind: str) -> None:
    findings = find_secrets(line)
    assert [f.kind for f in findings] == [kind]
    assert f"[REDACTED:{kind}]" in redact(line)


HARMLESS = [
    "scale deployment web to 5 replicas",
    "kubectl -n shop rollout undo deployment/checkout --to-revision=41",
    "kubectl get pods -n openshift-monitoring -o wide",
    "oc get secret db-creds -n prod -o jsonpath='{.metadata.name}'",
    "kubectl describe pod checkout-7d9f8b6c5d-x2k4q -n shop",
    "oc adm cordon worker-3.example.internal",
    'sum(rate(http_requests_total{service="checkout",code=~"5.."}[5m]))',
    "histogram_quantile(0.99, sum by (le) (rate(etcd_disk_wal_fsync_duration_seconds_bucket[5m])))",
    "image: quay.io/acme/api@sha256:3b8f1c2a9d4e5f60718293a4b5c6d7e8f9012345678abcdef0123456789abcdef",
    "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "request_id=550e8400-e29b-41d4-a716-446655440000 status=502 upstream=10.42.3.17:8080",
    "trace id 4bf92f3577b34da6a3ce929d0e0e4736 span 00f067aa0ba902b7",
    "Pod prometheus-k8s-0 on node ip-10-0-142-17.ec2.internal was evicted",
    "etcd-master-1 is 3 revisions behind; leader is etcd-master-0",
    "block 203.0.113.45/32 on cloudflare for 1h",
    "git commit 1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b fixed the leak",
    "secretName: tls-cert",
    "volumes:\n  - name: creds\n    secret:\n      secretName: db-creds",
    "failed to get secret: not found",
    'MountVolume.SetUp failed for volume "creds" : secret "db-creds" not found',
    "token expired, re-authenticating",
    "password: <your-password>",
    "password=${DB_PASSWORD}",
    'token: "{{ .Values.apiToken }}"',
    'curl -H "Authorization: Bearer $(oc whoami -t)" https://prometheus-k8s:9091/api/v1/query',
    "max_tokens: 512 temperature: 0.2",
    "PWD=/home/ops/runbooks",
    "Basic troubleshooting steps for the ingress controller",
    "the password is wrong for user admin",
    "rotate_secret(secret=prod-db, system=vault)",
    "http://10.0.0.5:8080/metrics returned 200 in 12ms",
    "https://console-openshift-console.apps.cluster.example.com/k8s/ns/shop/pods",
    "ReplicaSet checkout-7d9f8b6c5d scaled from 3 to 5",
    'node_filesystem_avail_bytes{mountpoint="/var"} / node_filesystem_size_bytes < 0.05',
    'kube_pod_container_status_restarts_total{namespace="shop"} increased by 14',
    "amtool silence add alertname=Watchdog --duration=2h --comment='maintenance window'",
    "patronictl -c /etc/patroni.yml switchover --candidate pg-2 --force",
    "CREATE INDEX CONCURRENTLY idx_orders_created ON orders(created_at);",
    "ssh-keygen -lf ~/.ssh/id_ed25519.pub",
    "Serial Number: 4f:3a:9c:12:be:77:01:aa:5c:2d:91:0e:6b:3f:88:19",
    'job="kube-state-metrics" instance="10.128.2.14:8443"',
    "alert KubePodCrashLooping firing for pod api-5c9d7b8f6-zzx9w in namespace payments",
    "ip-10-0-142-17 Ready worker 41d v1.29.4+6c1a2f0",
    "error: You must be logged in to the server (Unauthorized)",
    "cert expires in 6 days; renewed at 2026-11-30T08:00:00Z",
]


@pytest.mark.parametrize("line", HARMLESS)
def test_harmless_ops_line_is_unchanged(line: str) -> None:
    assert redact(line) == line
    assert find_secrets(line) == []


def test_false_positive_rate_on_harmless_table_is_zero() -> None:
    changed = [line for line in HARMLESS if redact(line) != line]
    assert len(HARMLESS) >= 30
    assert len(changed) / len(HARMLESS) == 0.0, changed


def test_redact_keeps_user_and_host_of_a_connection_string() -> None:
    out = redact("DATABASE_URL=postgres://app:S3cretPw9@db.prod:5432/orders")
    assert out == "DATABASE_URL=postgres://app:[REDACTED:connection_string]@db.prod:5432/orders"


def test_unterminated_private_key_is_masked_to_the_end() -> None:
    text = "oops pasted: -----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmU"
    assert redact(text) == "oops pasted: [REDACTED:private_key]"


def test_overlapping_findings_merge_so_no_tail_leaks() -> None:
    text = "password=AKIAQ3EGRT5XJ7KLMN2Ptail-of-the-password"
    out = redact(text)
    assert "tail" not in out and "AKIA" not in out
    assert out.startswith("password=[REDACTED:")


def test_email_is_kept_unless_pii_flag() -> None:
    text = "paged alice.smith@example.com about the outage"
    assert redact(text) == text
    assert redact(text, pii=True) == "paged [REDACTED:email] about the outage"


def test_email_never_swallows_a_connection_string_host() -> None:
    out = redact("mysql://root:Zq9xLm2Pw4@db.example.com/shop", pii=True)
    assert out == "mysql://root:[REDACTED:connection_string]@db.example.com/shop"


def test_findings_carry_span_and_detector() -> None:
    text = "key AKIAQ3EGRT5XJ7KLMN2P here"
    [finding] = find_secrets(text)
    assert isinstance(finding, Finding)
    assert text[slice(*finding.span)] == "AKIAQ3EGRT5XJ7KLMN2P"
    assert finding.detector


def test_detect_secrets_typed_detector_is_used() -> None:
    # Only detect-secrets' GitLab detector knows this deploy-token format.
    findings = find_secrets("deploy with gldt-AbCdEfGhIjKlMnOpQrStUv")
    assert findings and findings[0].detector == "detect-secrets:GitLabTokenDetector"


# --------------------------------------------------------------------------- redact_obj


@pytest.mark.parametrize(
    ("key", "kind"),
    [
        ("password", "password"),
        ("DB_PASSWORD", "password"),
        ("db_pwd", "password"),
        ("apiKey", "api_key"),
        ("x-api-key", "api_key"),
        ("client_secret", "secret"),
        ("access_token", "token"),
        ("Authorization", "authorization_header"),
        ("aws_secret_access_key", "access_key"),
        ("privateKey", "private_key"),
        ("cookie", "cookie"),
        ("secretName", None),
        ("max_tokens", None),
        ("PWD", None),
        ("token_ttl", None),
        ("namespace", None),
    ],
)
def test_secret_key_kind(key: str, kind: str | None) -> None:
    assert secret_key_kind(key) == kind


def test_redact_obj_masks_by_key_and_by_content() -> None:
    obj: dict[str, Any] = {
        "tool": "get_logs",
        "args": {"namespace": "shop", "pod": "api-5c9d7b8f6-zzx9w"},
        "headers": {"Authorization": "Bearer 6f1c2d9e8a7b4c3d2e1f0a9b", "Accept": "json"},
        "config": [{"db_password": "hunter2"}, {"replicas": 5, "api_key": 12345678}],
        "logs": ["connecting with postgres://svc:Pw9dLm2Xq@db/app", "ok"],
        "token": None,
        "secretName": "tls-cert",
    }
    out = redact_obj(obj)
    assert out["args"] == obj["args"]
    assert out["headers"] == {"Authorization": "[REDACTED:authorization_header]", "Accept": "json"}
    assert out["config"] == [
        {"db_password": "[REDACTED:password]"},
        {"replicas": 5, "api_key": "[REDACTED:api_key]"},
    ]
    assert out["logs"] == ["connecting with postgres://svc:[REDACTED:connection_string]@db/app", "ok"]
    assert out["token"] is None and out["secretName"] == "tls-cert"
    assert obj["config"][0]["db_password"] == "hunter2"  # the input is not mutated


def test_redact_obj_keeps_secret_names_but_scans_them() -> None:
    call = {"tool": "rotate_secret", "args": {"secret": "prod-db", "system": "vault"}}
    assert redact_obj(call) == call
    leaked = {"secret": "AKIAQ3EGRT5XJ7KLMN2P"}
    assert redact_obj(leaked) == {"secret": "[REDACTED:aws_access_key]"}


def test_redact_obj_masks_kube_secret_data() -> None:
    manifest = {
        "kind": "Secret",
        "metadata": {"name": "db"},
        "data": {"user": "YWRtaW4=", "pw": "aHVudGVyMg=="},
    }
    out = redact_obj(manifest)
    assert out["data"] == {"user": "[REDACTED:kube_secret]", "pw": "[REDACTED:kube_secret]"}
    assert out["metadata"] == {"name": "db"}
    config_map = {"kind": "ConfigMap", "data": {"LOG_LEVEL": "debug"}}
    assert redact_obj(config_map) == config_map


def test_redact_obj_keeps_tuples_and_scalars() -> None:
    assert redact_obj(("a", 1, None, True)) == ("a", 1, None, True)


DSN_KEY = 'db_up{dsn="postgres://app:Sup3rS3cretPw@db:5432/shop"}'
DSN_MASKED = 'db_up{dsn="postgres://app:[REDACTED:connection_string]@db:5432/shop"}'
AWS = "AKIAQ3EGRT5XJ7KLMN2P"
AWS_MASKED = "[REDACTED:aws_access_key]"

# (mapping, expected) -- telemetry keys carry labels (`name{labels}`), so keys are scanned as text
KEY_CASES: list[tuple[dict[object, object], dict[object, object]]] = [
    ({DSN_KEY: 0}, {DSN_MASKED: 0}),
    ({"up{job=\"api\"}": 1, 7: "seven"}, {"up{job=\"api\"}": 1, 7: "seven"}),
    (
        {"AKIAQ3EGRT5XJ7KLMN2P": "x", "AKIAZ9Y8X7W6V5U4T3S2": "y"},
        {"[REDACTED:aws_access_key]": "x", "[REDACTED:aws_access_key]#2": "y"},
    ),
    (
        {"[REDACTED:aws_access_key]": None, "AKIAQ3EGRT5XJ7KLMN2P": "x"},
        {"[REDACTED:aws_access_key]": None, "[REDACTED:aws_access_key]#2": "x"},
    ),
    ({"outer": {DSN_KEY: 0}}, {"outer": {DSN_MASKED: 0}}),
    ({f"{AWS}#2": 1, AWS: 2}, {f"{AWS_MASKED}#2": 1, AWS_MASKED: 2}),
]


@pytest.mark.parametrize(("obj", "expected"), KEY_CASES)
def test_redact_obj_redacts_secrets_in_keys(
    obj: dict[object, object], expected: dict[object, object]
) -> None:
    assert redact_obj(obj) == expected


def test_redact_obj_redacts_keys_of_kube_secret_data() -> None:
    manifest = {"kind": "Secret", "data": {"postgres://app:Sup3rS3cretPw@db/shop": "aHVudGVyMg=="}}
    dumped = json.dumps(redact_obj(manifest))
    assert "Sup3rS3cretPw" not in dumped and "[REDACTED:kube_secret]" in dumped


# --------------------------------------------------------------------------- properties

# Words of the harmless lines, minus the ones that introduce a credential ("password:", "Bearer", "-p"):
# placed before another word those really do make an assignment that must be masked.
_INTRODUCERS = re.compile(r"pass|secret|token|key|auth|bearer|basic|cookie|pwd|mysql|^-", re.I)
OPS_WORDS = [w for line in HARMLESS for w in line.split() if w.isascii() and not _INTRODUCERS.search(w)]
OPS_WORDS += ["5", "replicas", "web", "\n"]


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_redact_is_idempotent_on_any_text(text: str) -> None:
    once = redact(text)
    assert redact(once) == once


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(OPS_WORDS), max_size=40).map(" ".join))
def test_secret_free_ops_text_is_returned_unchanged(text: str) -> None:
    # Sentences built only from words of harmless ops lines: nothing to mask, never longer.
    assert redact(text) == text


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(sorted(SECRET_KINDS)),
    st.randoms(use_true_random=False),
    st.lists(st.sampled_from(OPS_WORDS), max_size=12).map(" ".join),
    st.lists(st.sampled_from(OPS_WORDS), max_size=12).map(" ".join),
)
def test_planted_secret_never_survives(kind: str, rng: random.Random, before: str, after: str) -> None:
    make, templates = SECRET_KINDS[kind]
    secret = make(rng)
    line = rng.choice(templates).format(s=secret)
    out = redact(f"{before}\n{line}\n{after}")
    assert secret not in out


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list(ALNUM + " =:/@._-\n'\"")), max_size=200))
def test_findings_are_sorted_disjoint_and_in_bounds(text: str) -> None:
    findings = find_secrets(text, pii=True)
    for finding in findings:
        assert 0 <= finding.start < finding.end <= len(text)
    for left, right in zip(findings, findings[1:], strict=False):
        assert left.end <= right.start


def test_labelled_telemetry_key_naming_a_secret_masks_its_value() -> None:
    out = redact_obj({'mysql_root_password{pod="db-0"}': "hunter2", 'http_requests_total{pod="db-0"}': 12})
    assert "hunter2" not in str(out)
    assert out['http_requests_total{pod="db-0"}'] == 12
