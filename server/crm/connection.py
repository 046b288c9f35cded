"""The connection to Salesforce: our own token flows against a configurable login URL, then simple-salesforce.

simple-salesforce's login helpers always post to ``https://<domain>.salesforce.com`` and it has no default
timeout; so we run the flow ourselves (OAuth username-password, JWT bearer, client credentials, or SOAP
``login()``), hand the client ``instance_url`` + ``session_id`` and a ``requests`` session whose adapter puts a
timeout on every request and which trusts the configured CA (the emulator's test CA). A session that expires
mid-run (401 INVALID_SESSION_ID) is ours to renew: :meth:`SalesforceConnection.call` logs in again and
retries once.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit
from xml.sax.saxutils import escape

import requests
from requests.adapters import HTTPAdapter
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceExpiredSession

log = logging.getLogger(__name__)

T = TypeVar("T")
JWT_LIFETIME_S = 180  # Salesforce accepts assertions valid for at most 3 minutes
LIMIT_INFO = re.compile(r"api-usage=(\d+)/(\d+)")


class CrmAuthError(Exception):
    """Salesforce refused to log in (wrong credentials, app not authorised ...): not worth retrying."""


@dataclass(frozen=True)
class ConnectionConfig:
    auth_flow: str = "password"  # password, jwt, client_credentials, soap
    login_url: str = "https://login.salesforce.com"
    instance_url: str | None = None
    api_version: str = "62.0"
    username: str | None = None
    password: str | None = None
    security_token: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    jwt_key_path: Path | None = None
    timeout_s: float = 30.0
    ca_bundle: Path | None = None
    # Lead assignment rules on our writes: off (``Sforce-Auto-Assign: FALSE``) unless the admin turns them on,
    # else the org's active rule hands every Lead back to its queue on each update, even one a rep has taken.
    auto_assign: bool = False

    @classmethod
    def from_settings(cls, settings: Any) -> ConnectionConfig:
        def secret(value: Any) -> str | None:
            return value.get_secret_value() if value is not None else None

        return cls(
            auth_flow=str(settings.salesforce_auth_flow),
            login_url=settings.salesforce_login_url.rstrip("/"),
            instance_url=settings.salesforce_instance_url,
            api_version=settings.salesforce_api_version,
            username=settings.salesforce_username,
            password=secret(settings.salesforce_password),
            security_token=secret(settings.salesforce_security_token),
            client_id=settings.salesforce_client_id,
            client_secret=secret(settings.salesforce_client_secret),
            jwt_key_path=settings.salesforce_jwt_key_path,
            timeout_s=settings.salesforce_timeout_s,
            ca_bundle=settings.salesforce_ca_bundle,
            auto_assign=bool(getattr(settings, "salesforce_auto_assign", False)),
        )


class TimeoutAdapter(HTTPAdapter):
    """Every request gets ``timeout`` unless the caller passed one (simple-salesforce passes none).

    With ``ca_bundle`` it also pins certificate verification to that CA at the adapter: ``requests`` lets
    ``REQUESTS_CA_BUNDLE`` in the environment override a session's ``verify``, which would drop the test CA.
    """

    def __init__(self, timeout: float, ca_bundle: Path | None = None, **kwargs: Any) -> None:
        self.timeout = timeout
        self.ca_bundle = str(ca_bundle) if ca_bundle is not None else None
        super().__init__(**kwargs)

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        if self.ca_bundle is not None:
            kwargs["verify"] = self.ca_bundle
        return super().send(request, **kwargs)


def make_http_session(config: ConnectionConfig) -> requests.Session:
    session = requests.Session()
    adapter = TimeoutAdapter(config.timeout_s, config.ca_bundle, pool_maxsize=4)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    if config.ca_bundle is not None:
        session.verify = str(config.ca_bundle)
    return session


@dataclass(frozen=True)
class Token:
    session_id: str
    instance_url: str


def jwt_assertion(config: ConnectionConfig, now: float) -> str:
    import jwt  # PyJWT, with cryptography for RS256

    if config.jwt_key_path is None or not config.client_id or not config.username:
        raise CrmAuthError("the jwt flow needs TOUCHPOINTS_SALESFORCE_CLIENT_ID, _USERNAME and _JWT_KEY_PATH")
    key = Path(config.jwt_key_path).read_text()
    claims = {
        "iss": config.client_id,
        "sub": config.username,
        "aud": config.login_url,
        "exp": int(now) + JWT_LIFETIME_S,
    }
    return jwt.encode(claims, key, algorithm="RS256")


def login(config: ConnectionConfig, http: requests.Session, now: float | None = None) -> Token:
    """Run the configured flow against ``login_url``; the token's instance URL, else the configured one."""
    flow = config.auth_flow
    if flow == "soap":
        return _soap_login(config, http)
    form: dict[str, str] = {}
    if flow == "password":
        form = {
            "grant_type": "password",
            "client_id": config.client_id or "",
            "client_secret": config.client_secret or "",
            "username": config.username or "",
            "password": (config.password or "") + (config.security_token or ""),
        }
    elif flow == "client_credentials":
        form = {
            "grant_type": "client_credentials",
            "client_id": config.client_id or "",
            "client_secret": config.client_secret or "",
        }
    elif flow == "jwt":
        form = {
            "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
            "assertion": jwt_assertion(config, time.time() if now is None else now),
        }
    else:
        raise CrmAuthError(f"unknown auth flow {flow!r} (password, jwt, client_credentials, soap)")
    response = http.post(f"{config.login_url}/services/oauth2/token", data=form)
    try:
        body = response.json()
    except ValueError:
        body = {"error": response.text[:200]}
    if response.status_code != 200 or "access_token" not in body:
        raise CrmAuthError(
            f"{flow} login at {config.login_url} refused ({response.status_code}): "
            f"{body.get('error')}: {body.get('error_description', '')}".rstrip(": ")
        )
    return Token(body["access_token"], body.get("instance_url") or config.instance_url or config.login_url)


SOAP_LOGIN = """<?xml version="1.0" encoding="utf-8"?>
<env:Envelope xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:env="http://schemas.xmlsoap.org/soap/envelope/"
  xmlns:urn="urn:partner.soap.sforce.com"><env:Body><urn:login><urn:username>{username}</urn:username>
<urn:password>{password}</urn:password></urn:login></env:Body></env:Envelope>"""


def _soap_login(config: ConnectionConfig, http: requests.Session) -> Token:
    body = SOAP_LOGIN.format(
        username=escape(config.username or ""), password=escape((config.password or "") + (config.security_token or ""))
    )
    response = http.post(
        f"{config.login_url}/services/Soap/u/{config.api_version}",
        data=body.encode(),
        headers={"Content-Type": "text/xml; charset=UTF-8", "SOAPAction": "login"},
    )
    session_id = re.search(r"<sessionId>([^<]+)</sessionId>", response.text)
    server_url = re.search(r"<serverUrl>([^<]+)</serverUrl>", response.text)
    if response.status_code != 200 or not session_id or not server_url:
        fault = re.search(r"<faultstring>([^<]+)</faultstring>", response.text)
        raise CrmAuthError(
            f"SOAP login at {config.login_url} refused ({response.status_code}): "
            f"{fault.group(1) if fault else response.text[:200]}"
        )
    parts = urlsplit(server_url.group(1))
    return Token(session_id.group(1), config.instance_url or f"{parts.scheme}://{parts.netloc}")


class SalesforceConnection:
    """A logged-in simple-salesforce client, renewed on INVALID_SESSION_ID, counting API calls and usage.

    Every response passes a hook that counts it (logins apart) and reads ``Sforce-Limit-Info: api-usage=N/M``,
    so the worker can slow down before the org's daily limit — Bulk API calls included, which
    simple-salesforce does not parse.
    """

    def __init__(self, config: ConnectionConfig, http: requests.Session | None = None) -> None:
        self.config = config
        self.http = http or make_http_session(config)
        self.http.hooks["response"].append(self._observe)
        self._sf: Salesforce | None = None
        self._lock = threading.Lock()
        self.api_calls = 0
        self.logins = 0
        self.usage: tuple[int, int] | None = None

    def _observe(self, response: requests.Response, *_args: Any, **_kwargs: Any) -> None:
        path = urlsplit(response.url).path
        if path.startswith("/services/oauth2/token") or path.startswith("/services/Soap/u/"):
            return
        self.api_calls += 1
        match = LIMIT_INFO.search(response.headers.get("Sforce-Limit-Info", ""))
        if match:
            self.usage = (int(match.group(1)), int(match.group(2)))

    @property
    def usage_ratio(self) -> float:
        return self.usage[0] / self.usage[1] if self.usage and self.usage[1] else 0.0

    def login(self) -> Salesforce:
        token = login(self.config, self.http)
        self.logins += 1
        self._sf = Salesforce(
            instance_url=token.instance_url,
            session_id=token.session_id,
            session=self.http,
            version=self.config.api_version,
        )
        # On every REST call of this client (Bulk API 2.0 runs assignment rules only when a job names one).
        self._sf.headers["Sforce-Auto-Assign"] = "TRUE" if self.config.auto_assign else "FALSE"
        log.info("logged in to Salesforce at %s (%s flow)", token.instance_url, self.config.auth_flow)
        return self._sf

    def client(self) -> Salesforce:
        with self._lock:
            return self._sf if self._sf is not None else self.login()

    def call(self, action: Callable[[Salesforce], T]) -> T:
        """Run ``action`` with the client; on an expired session log in again and run it once more."""
        sf = self.client()
        try:
            return action(sf)
        except SalesforceExpiredSession:
            log.info("Salesforce session expired: logging in again")
            with self._lock:
                sf = self.login()
            return action(sf)
