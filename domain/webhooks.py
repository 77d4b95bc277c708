"""Signed webhooks for integrations (ERP, CRM), per the Standard Webhooks scheme: what the body
of a delivery says and how it is signed. Pure: the caller supplies the clock and the secret.

A receiver recomputes ``v1,<base64 HMAC-SHA256 over "{webhook-id}.{webhook-timestamp}.{body}">``
with the shared secret, compares it in constant time, and dedups on ``webhook-id``."""

import base64
import binascii
import hashlib
import hmac
import json

from domain.outbound import OutboundMessage
from domain.personal import without_personal_fields

SECRET_PREFIX = "whsec_"
"""Standard Webhooks secrets are ``whsec_`` and the key in base64; any other secret is used
as its UTF-8 bytes."""

SIGNATURE_VERSION = "v1"


class InvalidSecret(ValueError):
    """A ``whsec_`` secret whose key is not base64."""


def signing_key(secret: str) -> bytes:
    """The HMAC key of ``secret``."""
    if not secret.startswith(SECRET_PREFIX):
        return secret.encode()
    try:
        return base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except binascii.Error:
        raise InvalidSecret(f"a secret starting with {SECRET_PREFIX} must continue in base64"
                            ) from None


def signature(key: bytes, webhook_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header of a delivery."""
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return f"{SIGNATURE_VERSION},{base64.b64encode(digest).decode()}"


def webhook_body(message: OutboundMessage) -> bytes:
    """The JSON a subscriber receives: the event without the customer's personal fields
    (an integration gets what happened, not what the customer wrote)."""
    event = message.event
    document = {
        "id": message.key,
        "request_id": message.request_id,
        "sequence": message.sequence,
        "type": message.event_type.value,
        "occurred_at": event["occurred_at"],
        "payload": without_personal_fields(message.event_type, event["payload"]),
    }
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
