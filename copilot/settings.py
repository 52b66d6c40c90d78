"""Settings from COPILOT_* environment variables. The only reader of os.environ."""

from __future__ import annotations

from pathlib import Path
from typing import Any, get_args

from pydantic import Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from copilot.errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """All runtime configuration. Local state lives under ``home``."""

    model_config = SettingsConfigDict(env_prefix="COPILOT_", extra="ignore")

    env: str = Field("development", description="development | production")
    home: Path = Field(Path(".copilot"), description="folder for all local state")
    database_url: str | None = Field(None, description="SQLAlchemy URL; default SQLite under home")
    chroma_url: str | None = Field(None, description="http://host:port of a `chroma run` server")
    catalog_dir: Path = REPO_ROOT / "tools"
    policy_file: Path = REPO_ROOT / "policy.yaml"
    knowledge_dir: Path = REPO_ROOT / "knowledge"
    prompts_dir: Path = REPO_ROOT / "prompts"
    planner: str = Field("auto", description="runbook | llm | hybrid | auto (hybrid when an LLM is set)")
    llm_base_url: str | None = None
    llm_model: str | None = None
    llm_api_key: SecretStr | None = None
    llm_timeout_s: float = 30.0
    llm_retries: int = 2
    host: str = "127.0.0.1"
    port: int = 8080
    slack_signing_secret: SecretStr | None = None
    slack_bot_token: SecretStr | None = None
    slack_api_url: str | None = None
    approval_ttl_s: int = 900

    @model_validator(mode="after")
    def _refuse_unsafe_defaults(self) -> Settings:
        if self.env == "production" and self.host not in ("127.0.0.1", "localhost") and not (
            self.slack_signing_secret
        ):
            raise ConfigError(
                "COPILOT_ENV=production with a public COPILOT_HOST needs COPILOT_SLACK_SIGNING_SECRET; "
                "set it or bind COPILOT_HOST=127.0.0.1"
            )
        return self

    @property
    def sqlite_path(self) -> Path:
        return self.home / "copilot.db"

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.sqlite_path}"

    @property
    def chroma_path(self) -> Path:
        return self.home / "chroma"

    @property
    def index_dir(self) -> Path:
        return self.home / "index"

    def ensure_home(self) -> Path:
        self.home.mkdir(parents=True, exist_ok=True)
        return self.home


def load_settings() -> Settings:
    """Build settings from the environment (called by the composition roots only).

    Raises ConfigError, one line naming each bad COPILOT_* variable and the type it needs.
    """
    try:
        return Settings()
    except ValidationError as exc:
        problems = [_describe(error) for error in exc.errors()]
        raise ConfigError("; ".join(problems)) from None


_EXPECTED = {int: "a whole number", float: "a number", bool: "true or false"}


def _describe(error: Any) -> str:
    """``COPILOT_PORT='abc' is not valid: expected a whole number; fix or unset it``."""
    field = str(error["loc"][0]) if error.get("loc") else ""
    info = Settings.model_fields.get(field)
    if info is None:
        return f"COPILOT_* settings are not valid: {error.get('msg', 'invalid value')}; fix or unset them"
    kinds = [a for a in (*get_args(info.annotation), info.annotation) if a in _EXPECTED]
    expected = _EXPECTED[kinds[0]] if kinds else str(error.get("msg", "a valid value"))
    value = error.get("input")
    secret = "SecretStr" in str(info.annotation)
    shown = f"={str(value)[:40]!r}" if isinstance(value, str | int | float) and not secret else ""
    return f"COPILOT_{field.upper()}{shown} is not valid: expected {expected}; fix or unset it"
