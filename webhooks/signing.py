"""Standard Webhooks signatures, made by the reference library."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from standardwebhooks import Webhook


def signed_headers(
    message_id: str, body: str, at: datetime, secrets: Sequence[str]
) -> dict[str, str]:
    """The ``webhook-*`` headers for ``body``: one ``v1,`` signature per secret in force
    (two during a rotation's grace period), space-separated as the spec says."""
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": " ".join(Webhook(s).sign(message_id, at, body) for s in secrets),
    }
