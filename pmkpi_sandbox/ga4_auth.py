"""Google sign-in for the GA4 sandbox: an OAuth token endpoint, an STS endpoint and credential files.

:class:`SandboxAuth` issues and checks access tokens the way Google's endpoints do, so credentials
of every type ``google-auth`` loads work against the sandbox through the real client:

- ``POST /token`` (Google's ``oauth2.googleapis.com/token``): ``grant_type=refresh_token`` for
  authorized-user credentials (``gcloud auth application-default login``) and the JWT-bearer grant
  for service accounts that do not sign their own tokens;
- ``POST /v1/token`` (Google's STS): the token exchange of external-account (workload identity
  federation) credentials;
- a Bearer token is accepted when the sandbox issued it, or when it is a JWT a registered service
  account signed itself (what the GA4 client sends for a service-account key).

:meth:`SandboxAuth.write_credentials` writes a credentials file of each type whose secrets the
sandbox then accepts (a fresh RSA key for a service account, a refresh token and a current access
token for an authorized user, a subject-token file for an external account). Tokens are checked only
while the fault plan's ``ga4_require_auth`` is on, so anonymous clients keep working by default.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs

from pmkpi_sandbox._http import ApiError, Reply, Request
from pmkpi_sandbox.ga4_errors import INVALID_TOKEN, MISSING_TOKEN

SCOPE = "https://www.googleapis.com/auth/analytics.readonly"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
CREDENTIAL_TYPES = ("service_account", "authorized_user", "external_account")
LIFETIME = 3600


class SandboxAuth:
    """The accepted clients of one sandbox and the access tokens it issued (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._keys: dict[str, str] = {}  # service-account key id → public key PEM
        self._users: dict[str, tuple[str, str]] = {}  # client id → (client secret, refresh token)
        self._subjects: set[str] = set()  # external-account subject tokens
        self._issued: set[str] = set()

    def issue(self) -> str:
        """A new access token (``ya29.``-prefixed, as Google's are)."""
        token = f"ya29.sandbox-{secrets.token_urlsafe(24)}"
        with self._lock:
            self._issued.add(token)
        return token

    def check(self, authorization: str | None) -> None:
        """Refuse (401, Google's words) a request without a token this sandbox accepts."""
        if not authorization or not authorization.startswith("Bearer "):
            raise ApiError(401, MISSING_TOKEN)
        token = authorization.removeprefix("Bearer ").strip()
        with self._lock:
            if token in self._issued:
                return
        if not self._self_signed(token):
            raise ApiError(401, INVALID_TOKEN)

    def _self_signed(self, token: str) -> bool:
        from google.auth import jwt

        with self._lock:
            keys = dict(self._keys)
        try:
            jwt.decode(token, certs=keys)
        except (ValueError, KeyError):
            return False
        return True

    def token(self, request: Request) -> Reply:
        """``POST /token``: a refresh-token or JWT-bearer grant, answered as Google's OAuth server does."""
        form = _form(request)
        grant = form.get("grant_type")
        if grant == "refresh_token":
            with self._lock:
                known = self._users.get(form.get("client_id", ""))
            if known is None or known[0] != form.get("client_secret"):
                return Reply({"error": "invalid_client", "error_description": "The OAuth client was not found."},
                             status=401)
            if known[1] != form.get("refresh_token"):
                return _invalid_grant("Token has been expired or revoked.")
        elif grant == JWT_BEARER:
            if not self._self_signed(form.get("assertion", "")):
                return _invalid_grant("Invalid JWT Signature.")
        else:
            return Reply({"error": "unsupported_grant_type", "error_description": f"Invalid grant_type: {grant}"},
                         status=400)
        return Reply({"access_token": self.issue(), "expires_in": LIFETIME - 1, "scope": SCOPE,
                      "token_type": "Bearer"})

    def sts(self, request: Request) -> Reply:
        """``POST /v1/token``: exchange a registered external subject token for an access token."""
        form = _form(request)
        if form.get("grant_type") != TOKEN_EXCHANGE:
            return _invalid_grant(f"Invalid value for \"grant_type\": {form.get('grant_type')}")
        with self._lock:
            known = form.get("subject_token") in self._subjects
        if not known:
            return _invalid_grant("The given subject token is not valid for this pool.")
        return Reply({"access_token": self.issue(), "token_type": "Bearer", "expires_in": LIFETIME,
                      "issued_token_type": "urn:ietf:params:oauth:token-type:access_token"})

    def write_credentials(self, kind: str, folder: Path, base_url: str) -> Path:
        """Write a ``kind`` credentials file into ``folder`` that this sandbox (at ``base_url``) accepts."""
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{kind}.json"
        if kind == "service_account":
            info = self._service_account(base_url)
        elif kind == "authorized_user":
            info = self._authorized_user()
        elif kind == "external_account":
            subject = folder / "subject-token.txt"
            subject.write_text(self._subject_token())
            info = {"type": "external_account", "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
                    "audience": "//iam.googleapis.com/locations/global/workloadIdentityPools/pmkpi-sandbox/"
                                "providers/sandbox",
                    "token_url": f"{base_url}/v1/token", "credential_source": {"file": str(subject)}}
        else:
            raise ValueError(f"credential type {kind!r} is not one of {CREDENTIAL_TYPES}")
        path.write_text(json.dumps(info, indent=2))
        return path

    def _service_account(self, base_url: str) -> dict:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        key_id = secrets.token_hex(20)
        public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo).decode()
        with self._lock:
            self._keys[key_id] = public
        private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()).decode()
        return {"type": "service_account", "project_id": "pmkpi-sandbox", "private_key_id": key_id,
                "private_key": private, "client_email": "pmkpi-reader@pmkpi-sandbox.iam.gserviceaccount.com",
                "client_id": str(secrets.randbelow(10**20)), "token_uri": f"{base_url}/token"}

    def _authorized_user(self) -> dict:
        client_id = f"{secrets.randbelow(10**12)}-sandbox.apps.googleusercontent.com"
        client_secret, refresh_token = secrets.token_urlsafe(18), f"1//sandbox-{secrets.token_urlsafe(24)}"
        with self._lock:
            self._users[client_id] = (client_secret, refresh_token)
        expiry = datetime.now(UTC) + timedelta(seconds=LIFETIME)
        return {"type": "authorized_user", "client_id": client_id, "client_secret": client_secret,
                "refresh_token": refresh_token, "token": self.issue(),
                "expiry": expiry.strftime("%Y-%m-%dT%H:%M:%SZ"), "quota_project_id": "pmkpi-sandbox"}

    def _subject_token(self) -> str:
        token = f"sandbox-subject-{secrets.token_urlsafe(24)}.{int(time.time())}"
        with self._lock:
            self._subjects.add(token)
        return token


def _form(request: Request) -> dict[str, str]:
    return {key: values[-1] for key, values in parse_qs(request.body.decode(), keep_blank_values=True).items()}


def _invalid_grant(description: str) -> Reply:
    return Reply({"error": "invalid_grant", "error_description": description}, status=400)
