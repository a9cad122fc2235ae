"""Model enums that more than one API module shows, registered with strawberry once."""

import strawberry

from models.enums import AlertStatus, DeliveryStatus, Severity, SignalKind

strawberry.enum(Severity, description="How grave a finding is.")
strawberry.enum(
    AlertStatus,
    description="OPEN and ACKNOWLEDGED alerts are live; RESOLVED ones lost their facts; "
    "WAIVED ones were closed on purpose and stay closed until their facts change.",
)
strawberry.enum(SignalKind, description="What a compensation signal says.")
strawberry.enum(
    DeliveryStatus,
    description="PENDING until the receiver answers 2xx (DELIVERED) or the retries run out "
    "(FAILED).",
)

__all__ = ["AlertStatus", "DeliveryStatus", "Severity", "SignalKind"]
