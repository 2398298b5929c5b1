"""Who is calling: the token in `Authorization` names the app (one token, one app).

Both styles Kindful uses are accepted on both base paths: `Token token="..."` (direct access)
and `Bearer ...` (OAuth2 partner apps). Tokens are kept only as digests.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

_TOKEN_STYLE = re.compile(r'^Token\s+token="?([^"]+)"?$', re.IGNORECASE)
_BEARER_STYLE = re.compile(r"^Bearer\s+(\S+)$", re.IGNORECASE)
UNAUTHENTICATED = "You couldn't be authenticated"  # 001, the documented 401 text


def token_from_header(header: str | None) -> str | None:
    if not header:
        return None
    header = header.strip()
    match = _TOKEN_STYLE.match(header) or _BEARER_STYLE.match(header)
    return match.group(1) if match else None


def app_id(token: str) -> str:
    """A stable, non-reversible name for the app a token belongs to."""
    return hashlib.sha256(token.encode()).hexdigest()[:16]


def new_token() -> str:
    return secrets.token_urlsafe(24)


class Authenticator:
    """Maps accepted tokens to app ids without keeping the tokens themselves."""

    def __init__(self, tokens: list[str]) -> None:
        self._digests = {hashlib.sha256(t.encode()).digest(): app_id(t) for t in tokens}

    def add(self, token: str) -> str:
        """Accept another token (another app); returns its app id."""
        self._digests[hashlib.sha256(token.encode()).digest()] = app_id(token)
        return app_id(token)

    @property
    def apps(self) -> list[str]:
        return list(self._digests.values())

    def app_for(self, header: str | None) -> str | None:
        token = token_from_header(header)
        if token is None:
            return None
        digest = hashlib.sha256(token.encode()).digest()
        for known, app in self._digests.items():
            if hmac.compare_digest(known, digest):
                return app
        return None
