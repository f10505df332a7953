"""Mailchimp's OAuth 2 as the sandbox serves it: the access tokens it accepts, the token exchange and the metadata.

An app that Mailchimp users log in to gets an access token (it never expires) by exchanging the
code of the authorisation redirect at ``POST https://login.mailchimp.com/oauth2/token``, asks
``GET https://login.mailchimp.com/oauth2/metadata`` with ``Authorization: OAuth <token>`` for the
account's data centre (``dc``) and ``api_endpoint``, then calls the API with ``Authorization:
Bearer <token>``. The sandbox serves both OAuth endpoints on its Mailchimp server (point
``PMKPI_MAILCHIMP_OAUTH_METADATA_URL`` at ``http://HOST:PORT/oauth2/metadata``); its
``api_endpoint`` is that server. It accepts the tokens it was started with and those it issued.
"""

from __future__ import annotations

import secrets
import threading
from urllib.parse import parse_qs

from pmkpi_sandbox._http import ApiError, Reply, Request

PREFIX = "/oauth2/"
METADATA = "/oauth2/metadata"
TOKEN = "/oauth2/token"


class OAuthTokens:
    """The access tokens a sandbox account accepts, and its two OAuth endpoints."""

    def __init__(self, tokens: tuple[str, ...] = (), dc: str = "us1") -> None:
        self._tokens = set(tokens)
        self._lock = threading.Lock()
        self.dc = dc

    def issue(self) -> str:
        """A new access token, accepted from now on."""
        token = secrets.token_hex(16)
        with self._lock:
            self._tokens.add(token)
        return token

    def accepts(self, token: str) -> bool:
        """Whether ``token`` was configured or issued."""
        with self._lock:
            return token in self._tokens

    def bearer(self, request: Request) -> bool:
        """True when the request carries an accepted ``Bearer`` token, False when it carries none; a
        ``Bearer`` token the account does not know is refused with 401."""
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            return False
        if not self.accepts(token.strip()):
            raise ApiError(401, "The access token is invalid or was revoked.")
        return True

    def route(self, request: Request):
        """The handler of an OAuth endpoint (``GET /oauth2/metadata``, ``POST /oauth2/token``), else None."""
        endpoints = {("GET", METADATA): self.metadata, ("POST", TOKEN): self.token}
        return endpoints.get((request.method, request.path))

    def metadata(self, request: Request) -> Reply:
        """``GET /oauth2/metadata`` with ``Authorization: OAuth <token>``: the account's data centre and API."""
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "oauth" or not self.accepts(token.strip()):
            return Reply({"error": "invalid_token", "error_description": "The access token is invalid."},
                         status=401)
        host = request.headers.get("Host", "127.0.0.1")
        return Reply({
            "dc": self.dc, "role": "owner", "accountname": "pmkpi sandbox", "user_id": 1,
            "login": {"email": "owner@example.com", "avatar": None, "login_id": 1, "login_name": "owner",
                      "login_email": "owner@example.com"},
            "login_url": "https://login.mailchimp.com", "api_endpoint": f"http://{host}",
        })

    def token(self, request: Request) -> Reply:
        """``POST /oauth2/token`` (form: ``grant_type=authorization_code``, ``code``, client id and secret):
        a new access token for any code."""
        form = {k: v[-1] for k, v in parse_qs(request.body.decode(errors="replace")).items()}
        if form.get("grant_type") != "authorization_code" or not form.get("code") or not form.get("client_id"):
            return Reply({"error": "invalid_grant", "error_description": "Invalid authorization code"},
                         status=400)
        return Reply({"access_token": self.issue(), "expires_in": 0, "scope": None})
