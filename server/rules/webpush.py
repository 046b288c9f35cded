"""Web Push: VAPID-signed, encrypted (aes128gcm) pushes to browsers that subscribed, through pywebpush.

The private key comes from ``TOUCHPOINTS_VAPID_PRIVATE_KEY`` (base64url DER or PEM, as ``vapid --gen`` or
:func:`generate_vapid_keys` make it) and the contact from ``TOUCHPOINTS_VAPID_SUBJECT`` (``mailto:`` or
``https:``). The app subscribes with the *public* key (:func:`public_key_of`). A push service answering 404
or 410 says the subscription is gone: the caller deletes it.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid
from pywebpush import WebPushException, webpush

PUSH_TTL_S = 3600  # a "booth nearby" an hour late is noise: let the push service drop it
PUSH_TIMEOUT_S = 10.0
GONE = (404, 410)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def generate_vapid_keys() -> tuple[str, str]:
    """(private key for TOUCHPOINTS_VAPID_PRIVATE_KEY, public key for the app), both base64url."""
    key = ec.generate_private_key(ec.SECP256R1())
    der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return _b64(der), public_key_of(_b64(der))


def public_key_of(private_key: str) -> str:
    """The applicationServerKey the browser subscribes with (uncompressed point, base64url)."""
    vapid = Vapid.from_string(private_key) if "BEGIN" not in private_key else Vapid.from_pem(private_key.encode())
    point = vapid.public_key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return _b64(point)


@dataclass(frozen=True)
class PushResult:
    ok: bool
    status: int | None
    gone: bool
    error: str | None = None


@dataclass(frozen=True)
class WebPushSender:
    private_key: str
    subject: str

    def send(self, endpoint: str, p256dh: str, auth: str, message: dict[str, Any]) -> PushResult:
        try:
            response = webpush(
                subscription_info={"endpoint": endpoint, "keys": {"p256dh": p256dh, "auth": auth}},
                data=json.dumps(message, separators=(",", ":")),
                vapid_private_key=self.private_key,
                vapid_claims={"sub": self.subject},
                ttl=PUSH_TTL_S,
                timeout=PUSH_TIMEOUT_S,
            )
        except WebPushException as exc:
            status = exc.response.status_code if exc.response is not None else None
            return PushResult(False, status, status in GONE, str(exc)[:500])
        except Exception as exc:  # network errors: retried by the outbox
            return PushResult(False, None, False, f"{type(exc).__name__}: {exc}"[:500])
        status = getattr(response, "status_code", None)
        return PushResult(True, status, False)
