"""The secret patterns redaction applies, as data. Pure: regexes and small predicates, no I/O.

Two sources, in priority order (an earlier pattern wins an overlap):
1. our own patterns for shapes detect-secrets does not cover or covers only partly (whole private-key
   blocks, connection strings, auth headers, keyword assignments, newer vendor token formats);
2. detect-secrets' *typed* regex detectors (`DETECT_SECRETS_DETECTORS`), loaded lazily by
   copilot.redaction. Its entropy detectors are deliberately absent: they flag ordinary ops text
   ("scale deployment web to 5 replicas", image digests) as secrets.

`triggers` are lowercase substrings; a pattern only runs on text containing one of them (speed).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from dataclasses import dataclass

Validator = Callable[[str], bool]


@dataclass(frozen=True, slots=True)
class SecretPattern:
    """One way to find a secret: `group` names the part to mask (None: the whole match)."""

    kind: str
    regex: re.Pattern[str]
    triggers: tuple[str, ...] | None = None
    group: str | None = None
    validator: Validator | None = None


# --------------------------------------------------------------------------- value predicates

_PLACEHOLDER = re.compile(
    r"^(?:\[REDACTED|<[^>]*>$|\$\{|\$\(|\$[A-Z_][A-Z0-9_]*$|\{\{|%s$|%\(|\*+$|x{3,}$)", re.I
)
_STATUS_WORDS = frozenset(
    "none null nil true false yes no required optional redacted masked hidden empty missing invalid "
    "expired revoked refreshed valid ok set unset not_set n/a na undefined changeme? ''".split()
)


def is_real_value(value: str) -> bool:
    """A keyword's value that could be a credential: not empty, not a placeholder or status word."""
    stripped = value.strip()
    if not stripped or _PLACEHOLDER.match(stripped):
        return False
    return stripped.lower() not in _STATUS_WORDS


def looks_like_credential(value: str) -> bool:
    """Random-looking enough for keys where prose is common ("secret: not found" is not a secret)."""
    if not is_real_value(value):
        return False
    has_digit = any(ch.isdigit() for ch in value)
    return (len(value) >= 8 and has_digit) or len(value) >= 20


def is_basic_credential(value: str) -> bool:
    """`Basic xyz` only when xyz decodes to `user:password`, so "Basic troubleshooting" stays."""
    padded = value + "=" * (-len(value) % 4)
    try:
        decoded = base64.b64decode(padded, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return False
    return ":" in decoded and decoded.isprintable()


def _prose_password(value: str) -> bool:
    """ "the password is X": X must not be an ordinary word ("is wrong", "is expired")."""
    return is_real_value(value) and (
        any(not ch.isalpha() for ch in value) or (len(value) >= 12 and not value.islower())
    )


# --------------------------------------------------------------------------- our own patterns

_VALUE = r"""(?:"(?P<dq>[^"\n]*)"|'(?P<sq>[^'\n]*)'|(?P<bare>[^\s"',;&}\])<>]+))"""
_PASSWORD_KEYS = r"(?:password|passwd|passphrase|(?<=[_.-])pwd)"  # noqa: S105 (key names, not a value)
_TOKEN_KEY_NAMES = (
    "secret",
    "token",
    "api[_-]?key",
    "apikey",
    "access[_-]?key",
    "secret[_-]?key",
    "private[_-]?key",
    "client[_-]?secret",
    "credentials?",
    "auth[_-]?key",
)
_TOKEN_KEYS = "(?:" + "|".join(_TOKEN_KEY_NAMES) + ")"
_KEY_PREFIX = r"(?<![A-Za-z0-9_.-])(?<!//)(?:-{1,2})?[A-Za-z0-9_.-]*?"
_ASSIGN = r"""["']?[ \t]*(?::=|=>|=|:)[ \t]*"""


def _keyword(keys: str) -> re.Pattern[str]:
    return re.compile(_KEY_PREFIX + keys + _ASSIGN + _VALUE, re.I)


OWN_PATTERNS: tuple[SecretPattern, ...] = (
    SecretPattern(
        "private_key",
        re.compile(
            r"-----BEGIN[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----.*?"
            r"(?:-----END[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----|\Z)",
            re.S,
        ),
        ("private key",),
    ),
    SecretPattern(
        "private_key",
        re.compile(r"PuTTY-User-Key-File-\d:.*?(?:Private-MAC: *\S+|\Z)", re.S),
        ("putty-user-key",),
    ),
    SecretPattern(
        "jwt",
        re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),
        ("eyj",),
    ),
    SecretPattern("github_token", re.compile(r"\bgithub_pat_[A-Za-z0-9_]{22,}"), ("github_pat_",)),
    SecretPattern("github_token", re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,}"), ("gh",)),
    SecretPattern(
        "slack_token",
        re.compile(r"\bxox[abeoprs]-[A-Za-z0-9-]{10,}|\bxapp-\d-[A-Za-z0-9-]{10,}"),
        ("xox", "xapp-"),
    ),
    SecretPattern(
        "aws_access_key",
        re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA)[A-Z0-9]{16}\b"),
        ("akia", "asia", "agpa", "aida", "aroa", "anpa"),
    ),
    SecretPattern("google_api_key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}"), ("aiza",)),
    SecretPattern(
        "stripe_key", re.compile(r"\b[rs]k_(?:live|test)_[0-9A-Za-z]{16,}"), ("k_live_", "k_test_")
    ),
    SecretPattern("openai_key", re.compile(r"\bsk-(?:proj-|ant-[a-z0-9]+-)?[A-Za-z0-9_-]{32,}"), ("sk-",)),
    SecretPattern("npm_token", re.compile(r"\bnpm_[A-Za-z0-9]{36}\b"), ("npm_",)),
    SecretPattern("vault_token", re.compile(r"\bhv[sbr]\.[A-Za-z0-9_-]{24,}"), ("hvs.", "hvb.", "hvr.")),
    SecretPattern(
        "connection_string",
        re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s:/@'\"]*:(?P<pw>[^\s/@'\"]+)@", re.I),
        ("://",),
        "pw",
        is_real_value,
    ),
    SecretPattern(
        "authorization_header",
        re.compile(
            r"(?<![\w-])(?:proxy-)?authorization[\"']?[ \t]*[:=][ \t]*[\"']?"
            r"(?:(?:bearer|basic|token|digest|negotiate|apikey|sso-key)[ \t]+)?(?P<v>[^\s\"',;]+)",
            re.I,
        ),
        ("authorization",),
        "v",
        is_real_value,
    ),
    SecretPattern(
        "bearer_token",
        re.compile(r"\bbearer[ \t]+(?P<v>[A-Za-z0-9._~+/-]+=*)", re.I),
        ("bearer",),
        "v",
        looks_like_credential,
    ),
    SecretPattern(
        "basic_auth",
        re.compile(r"\bbasic[ \t]+(?P<v>[A-Za-z0-9+/]{6,}={0,2})", re.I),
        ("basic",),
        "v",
        is_basic_credential,
    ),
    SecretPattern(
        "cookie", re.compile(r"(?<![\w-])(?:set-)?cookie[ \t]*:[ \t]*(?P<v>[^\r\n]+)", re.I), ("cookie",), "v"
    ),
    SecretPattern(
        "password",
        re.compile(r"\bmysql(?:dump|admin)?\b[^\n]*?[ \t]-p(?P<v>[^\s-][^\s]*)"),
        ("mysql",),
        "v",
        is_real_value,
    ),
    SecretPattern(
        "password",
        re.compile(r"--(?:password|passwd|db-password)[ \t]+(?P<v>[^\s-][^\s]*)", re.I),
        ("--pass",),
        "v",
        is_real_value,
    ),
    SecretPattern(
        "token",
        re.compile(r"--(?:token|api-key|client-secret|secret-key)[ \t]+(?P<v>[^\s-][^\s]*)", re.I),
        ("--token", "--api-key", "--client-secret", "--secret-key"),
        "v",
        looks_like_credential,
    ),
)

# Generic keyword patterns run after detect-secrets' typed detectors, so a typed kind wins a tie.
KEYWORD_PATTERNS: tuple[SecretPattern, ...] = (
    SecretPattern("password", _keyword(_PASSWORD_KEYS), ("pass", "pwd"), "value", is_real_value),
    SecretPattern(
        "password",
        re.compile(r"\b(?:password|passwd|passphrase)[ \t]+(?:is|was|=)[ \t]+[\"']?(?P<v>[^\s\"']+)", re.I),
        ("pass",),
        "v",
        _prose_password,
    ),
    SecretPattern(
        "secret",
        _keyword(_TOKEN_KEYS),
        ("secret", "token", "key", "credential"),
        "value",
        looks_like_credential,
    ),
)

EMAIL_PATTERN = SecretPattern(
    "email",
    re.compile(r"(?<![\w.+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b"),
    ("@",),
)

# --------------------------------------------------------------------------- kube Secret manifests

KIND_SECRET = re.compile(r"""["']?kind["']?[ \t]*:[ \t]*["']?Secret(?![\w-])""")
YAML_DATA_BLOCK = re.compile(
    r"(?m)^(?P<indent>[ \t]*)(?:data|stringData):[ \t]*\n(?P<body>(?:(?P=indent)[ \t]+\S[^\n]*(?:\n|$))+)"
)
YAML_ENTRY_VALUE = re.compile(r"(?m)^[ \t]+[\"']?[\w.-]+[\"']?:[ \t]*(?P<value>\S[^\n]*?)[ \t]*$")
JSON_DATA_BLOCK = re.compile(r"""["'](?:data|stringData)["'][ \t]*:[ \t]*\{(?P<body>[^{}]*)\}""")
JSON_ENTRY_VALUE = re.compile(r""""[^"]*"[ \t]*:[ \t]*"(?P<value>[^"]*)\"""")

# --------------------------------------------------------------------------- detect-secrets typed detectors

# (module, class, triggers). Not listed on purpose: Base64/HexHighEntropyString (flag ops text),
# KeywordDetector (code-oriented; our keyword patterns cover logs), IPPublicDetector (IPs aren't secrets).
DETECT_SECRETS_DETECTORS: tuple[tuple[str, str, tuple[str, ...] | None], ...] = (
    ("private_key", "PrivateKeyDetector", ("private key", "putty")),
    ("jwt", "JwtTokenDetector", ("eyj",)),
    ("aws", "AWSKeyDetector", ("akia", "asia", "abia", "acca", "a3t", "aws")),
    ("github_token", "GitHubTokenDetector", ("gh",)),
    ("gitlab_token", "GitLabTokenDetector", ("gl", "gr1348941")),
    ("slack", "SlackDetector", ("xox", "hooks.slack.com")),
    ("stripe", "StripeDetector", ("k_live_",)),
    ("openai", "OpenAIDetector", ("sk-",)),
    ("sendgrid", "SendGridDetector", ("sg.",)),
    ("twilio", "TwilioKeyDetector", ("ac", "sk")),
    ("mailchimp", "MailchimpDetector", ("-us",)),
    ("npm", "NpmDetector", ("_authtoken",)),
    ("pypi_token", "PypiTokenDetector", ("pypi-",)),
    ("azure_storage_key", "AzureStorageKeyDetector", ("accountkey=",)),
    ("basic_auth", "BasicAuthDetector", ("://",)),
    ("discord", "DiscordBotTokenDetector", None),
    ("telegram_token", "TelegramBotTokenDetector", (":",)),
    ("square_oauth", "SquareOAuthDetector", ("sq0csp-",)),
    ("artifactory", "ArtifactoryDetector", ("akc", "ap")),
    ("cloudant", "CloudantDetector", ("cl",)),
    ("ibm_cloud_iam", "IbmCloudIamDetector", ("key", "pwd", "pass", "token")),
    ("ibm_cos_hmac", "IbmCosHmacDetector", ("secret",)),
    ("softlayer", "SoftlayerDetector", ("sl", "softlayer")),
)

# Shortest capture group worth masking on its own; shorter groups (e.g. GitHub's "ghp" prefix) mean
# the detector's group is a prefix and the whole match is the secret.
MIN_GROUP_SECRET_LEN = 8
MATCH_DELIMITERS = " \t\r\n=:\"'"
