"""Settings from COPILOT_* variables: a bad value is one ConfigError line naming the variable and type."""

from __future__ import annotations

import pytest

from copilot.errors import ConfigError
from copilot.settings import load_settings


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        (
            "COPILOT_APPROVAL_TTL_S",
            "abc",
            "COPILOT_APPROVAL_TTL_S='abc' is not valid: expected a whole number; fix or unset it",
        ),
        ("COPILOT_PORT", "80.5", "COPILOT_PORT='80.5' is not valid: expected a whole number"),
        ("COPILOT_LLM_TIMEOUT_S", "soon", "COPILOT_LLM_TIMEOUT_S='soon' is not valid: expected a number"),
        ("COPILOT_LLM_RETRIES", "", "COPILOT_LLM_RETRIES='' is not valid: expected a whole number"),
    ],
)
def test_bad_variable_is_one_config_error_line(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert message in str(caught.value)
    assert "\n" not in str(caught.value) and "pydantic" not in str(caught.value)


def test_every_bad_variable_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COPILOT_PORT", "x")
    monkeypatch.setenv("COPILOT_APPROVAL_TTL_S", "y")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert "COPILOT_PORT='x'" in str(caught.value) and "COPILOT_APPROVAL_TTL_S='y'" in str(caught.value)


def test_good_variables_load(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COPILOT_APPROVAL_TTL_S", "600")
    assert load_settings().approval_ttl_s == 600


def test_unsafe_production_default_still_names_its_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COPILOT_ENV", "production")
    monkeypatch.setenv("COPILOT_HOST", "0.0.0.0")  # noqa: S104 - the unsafe value under test
    with pytest.raises(ConfigError, match="COPILOT_SLACK_SIGNING_SECRET"):
        load_settings()
