"""Fixtures: a sandbox Kindful on a loopback port and a client talking to it over HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from preview_helpers import TOKEN
from pydantic import SecretStr

from pipelines.kindful.client import KindfulClient
from pipelines.kindful.settings import KindfulSettings
from sandbox.serve import SandboxHandle, running_sandbox


@pytest.fixture
def kindful() -> Iterator[SandboxHandle]:
    with running_sandbox(token=TOKEN) as handle:
        yield handle


@pytest.fixture
def client(kindful: SandboxHandle) -> Iterator[KindfulClient]:
    settings = KindfulSettings(token=SecretStr(TOKEN), base_url=kindful.base_url)
    with KindfulClient(settings) as kindful_client:
        yield kindful_client
