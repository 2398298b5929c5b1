"""Who is calling: the token in `Authorization` names the app (one token, one app).

The header style goes with the base path, as Kindful documents its two kinds of access:
`Token token="..."` on `/api/v1` (direct access), `Bearer ...` on `/admin/oauth2/api/v1`
(OAuth2 partner apps). The other style is a wrong token (401). Tokens are kept only as digests.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

_TOKEN_STYLE = re.compile(r'^Token\s+token="?([^"]+)"?$', re.IGNORECASE)
_BEARER_STYLE = re.compile(r"^Bearer\s+(\S+)$", re.IGNORECASE)
UNAUTHENTICATED = "You couldn't be authenticated"  # 001, the documented 401 text


TOKEN = "token"
BEARER = "bearer"


def token_from_header(header: str | None, style: str | None = None) -> str | None:
    """The token of a header in `style` (token or bearer; None: either)."""
    if not header:
        return None
    header = header.strip()
    patterns = {TOKEN: (_TOKEN_STYLE,), BEARER: (_BEARER_STYLE,)}.get(
        style or "", (_TOKEN_STYLE, _BEARER_STYLE)
    )
    for pattern in patterns:
        match = pattern.match(header)
        if match:
            return match.group(1)
    return None


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

    def app_for(self, header: str | None, style: str | None = None) -> str | None:
        """The app whose token the header carries in `style` (None: either style)."""
        token = token_from_header(header, style)
        if token is None:
            return None
        digest = hashlib.sha256(token.encode()).digest()
        for known, app in self._digests.items():
            if hmac.compare_digest(known, digest):
                return app
        return None
