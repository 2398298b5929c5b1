"""Where and how to reach Kindful: base URL, token, auth style, timeouts and retry policy.

Read from the environment (`KINDFUL_BASE_URL`, `KINDFUL_TOKEN`, `KINDFUL_AUTH`); the token is
a SecretStr so reprs, logs and tracebacks show `**********`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr

LIVE_BASE_URL = "https://app.kindful.com/api/v1"
SANDBOX_BASE_URL = "https://app-sandbox.kindful.com/api/v1"  # Kindful's own sandbox
OAUTH_BASE_URL = "https://app.kindful.com/admin/oauth2/api/v1"  # OAuth2 partner apps


class AuthStyle(StrEnum):
    """`token`: direct access, `Authorization: Token token="..."`; `bearer`: OAuth2 apps."""

    TOKEN = "token"
    BEARER = "bearer"


class RetryPolicy(BaseModel):
    """Exponential backoff with jitter, bounded in attempts and in total time."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    attempts: Annotated[int, Field(ge=1)] = 5
    timeout: Annotated[float, Field(gt=0)] = 120.0  # total seconds spent retrying one call
    wait_initial: Annotated[float, Field(ge=0)] = 0.5
    wait_max: Annotated[float, Field(ge=0)] = 30.0
    wait_jitter: Annotated[float, Field(ge=0)] = 1.0
    wait_exp_base: Annotated[float, Field(ge=1)] = 2.0
    retry_after_max: Annotated[float, Field(ge=0)] = 120.0  # cap on a server's Retry-After
    # A 429 reached the server; POST /imports is retried only when it certainly did not.
    retry_submit_on_429: bool = False


class KindfulSettings(BaseModel):
    """Everything the client needs; build with `from_env()` or directly in tests."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    token: SecretStr
    base_url: str = LIVE_BASE_URL
    auth: AuthStyle = AuthStyle.TOKEN
    connect_timeout: Annotated[float, Field(gt=0)] = 10.0
    read_timeout: Annotated[float, Field(gt=0)] = 60.0
    write_timeout: Annotated[float, Field(gt=0)] = 60.0
    pool_timeout: Annotated[float, Field(gt=0)] = 10.0
    retry: RetryPolicy = RetryPolicy()
    # contacts/query, transactions/query: total wait for "results could not be gathered in time".
    query_wait_max: Annotated[float, Field(ge=0)] = 120.0
    user_agent: str = "kindful-etl/0.1"

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, **overrides: Any
    ) -> KindfulSettings:
        """Settings from KINDFUL_BASE_URL, KINDFUL_TOKEN and KINDFUL_AUTH (token|bearer)."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        if env.get("KINDFUL_TOKEN"):
            values["token"] = env["KINDFUL_TOKEN"]
        if env.get("KINDFUL_BASE_URL"):
            values["base_url"] = env["KINDFUL_BASE_URL"]
        if env.get("KINDFUL_AUTH"):
            values["auth"] = env["KINDFUL_AUTH"].strip().lower()
        values.update(overrides)
        if "token" not in values:
            from pipelines.kindful.errors import KindfulConfigError

            raise KindfulConfigError("KINDFUL_TOKEN is not set")
        return cls.model_validate(values)

    def authorization(self) -> str:
        """The Authorization header value; only the HTTP layer should call this."""
        secret = self.token.get_secret_value()
        if self.auth is AuthStyle.BEARER:
            return f"Bearer {secret}"
        return f'Token token="{secret}"'
