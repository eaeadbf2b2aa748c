"""Configuration from the environment (prefix MEMBEROPS_), validated once at start-up."""

from __future__ import annotations

from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///memberops.db"


class Settings(BaseSettings):
    """Every knob of a running memberops; each has a safe default for the demo."""

    model_config = SettingsConfigDict(env_prefix="MEMBEROPS_", extra="ignore")

    database_url: str = Field(
        default=DEFAULT_DATABASE_URL,
        description="SQLAlchemy URL: sqlite:///file.db or postgresql+psycopg://user@host/db",
    )
    timezone: str = Field(default="Asia/Shanghai", description="the programme's time zone")
    currency: str = Field(default="CNY")
    max_body_bytes: int = Field(default=1_048_576, ge=1024, description="JSON body limit")
    max_upload_bytes: int = Field(default=50 * 1_048_576, ge=1024, description="CSV upload limit")
    rate_limit: str = Field(default="1200/minute", description="per API key, `limits` notation")
    key_cache_seconds: float = Field(
        default=5, ge=0, le=60,
        description="how long a server process trusts a key it has looked up; a revoked key "
                    "stops working within this time (0: look up every request)")
    idempotency_ttl_days: int = Field(default=7, ge=7)
    log_format: str = Field(default="console", pattern="^(console|json)$")
    log_level: str = Field(default="INFO")
    recommend_method: str = Field(
        default="itemknn", pattern="^(itemknn|buy_again|popular)$",
        description="the default of the recommendations (API and CLI): the method that won "
                    "`memberops analytics crosssell evaluate` on the demo (docs/crosssell.md)")
    console_secret: str | None = Field(
        default=None,
        description="signs the console's session cookie; unset, each server start makes a new "
                    "one (everyone signs in again after a restart)")
    console_idle_minutes: int = Field(
        default=30, ge=1, le=24 * 60,
        description="a console session ends after this long without a page or action")
    console_session_hours: int = Field(
        default=12, ge=1, le=24 * 7, description="and after this long in any case")
    console_state_dir: str = Field(
        default=".memberops-console",
        description="where the console keeps its signed-in sessions (one small file each)")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("database_url")
    @classmethod
    def _normalise_postgres_url(cls, value: str) -> str:
        # Plain postgresql:// would pick psycopg2, which we do not install.
        if value.startswith("postgresql://"):
            return "postgresql+psycopg://" + value.removeprefix("postgresql://")
        if value.startswith("postgres://"):
            return "postgresql+psycopg://" + value.removeprefix("postgres://")
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
