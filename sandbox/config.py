"""Sandbox settings that are fixed for a server's life (faults, which change, are apart)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SandboxConfig:
    """How the sandbox Kindful behaves where the reference leaves a choice."""

    processing_delay: float = 0.0  # seconds a job spends "working"
    fetch_timeout: float = 30.0  # seconds for one data_url download
    allowed_data_url_hosts: frozenset[str] | None = None  # None: any host
    sync_pending_threshold: int = 0  # /imports/stats: sync_enabled while pending_jobs <= this
    # 001 shows `notifications: {page: 0, count, results}` and no way to ask for a page: by
    # default every notification is in that one answer. For client tests: at most this many
    # per answer, and whether `?page=N` reaches the others (else every answer is page 0).
    notifications_per_page: int | None = None
    notifications_follow_page: bool = True
    query_page_max: int = 50  # 001: "50 is max and default page size"
    query_token_ttl: float = 300.0  # 001: "expires on inactivity of 5 minutes"
    org_name: str = "Sandbox Organization"
