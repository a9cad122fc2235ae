"""What delivery plans, hands over, and the client accepts or rejects."""

from collections.abc import Mapping
from typing import Any

from models import Deliverable, Person
from models.enums import DeliverableStatus
from services.alerts.evaluation import Changed
from services.core import records
from services.core.errors import FieldError
from services.core.fields import Choice, Day, Item, Moment, Money, Quantity, Ref, Text
from services.engagements.decisions import Decision


def _rejection_has_a_reason(values: Mapping[str, Any]) -> list[FieldError]:
    if values.get("status") == DeliverableStatus.REJECTED and not values.get("rejection_reason"):
        return [FieldError("rejection_reason", "is required when the status is REJECTED")]
    return []


def _acceptance_matches_status(values: Mapping[str, Any]) -> list[FieldError]:
    accepted = values.get("accepted_at") or values.get("accepted_by_id")
    if accepted and values.get("status") != DeliverableStatus.ACCEPTED:
        return [
            FieldError(
                "status",
                "must be ACCEPTED while acceptedAt or acceptedById is set "
                "(clear both to record another status)",
            )
        ]
    return []


KIND = records.Kind(
    model=Deliverable,
    label="deliverable",
    spec={
        "item": Item(),
        "description": Text(),
        "quantity": Quantity(),
        "due_date": Day(nullable=True),
        "status": Choice(enum=DeliverableStatus),
        "delivered_at": Moment(nullable=True),
        "accepted_by_id": Ref(nullable=True, model=Person, label="person"),
        "accepted_at": Moment(nullable=True),
        "rejection_reason": Text(nullable=True),
        "estimated_cost": Money(nullable=True),
        "actual_cost": Money(nullable=True),
    },
    required=frozenset({"item", "description", "quantity"}),
    cross_checks=(_rejection_has_a_reason, _acceptance_matches_status),
    # Accepting or rejecting is the client's (or quality's) call; recording costs is not.
    decides=records.Decides(
        Decision.ACCEPT_DELIVERABLE,
        fields=frozenset({"status", "accepted_by_id", "accepted_at", "rejection_reason"}),
        when=lambda v: v.get("status") in (DeliverableStatus.ACCEPTED, DeliverableStatus.REJECTED),
        named="accepted_by_id",
    ),
)


async def create_deliverable(*, engagement_id: int, **values: Any) -> Changed[Deliverable]:
    """Plan or record a deliverable for a scope item."""
    values.setdefault("status", DeliverableStatus.PLANNED)
    return await records.create(KIND, engagement_id=engagement_id, values=values)


async def update_deliverable(*, id: int, **changes: Any) -> Changed[Deliverable]:
    """Change a deliverable (its status, dates, costs, acceptance)."""
    return await records.update(KIND, id=id, changes=changes)


async def delete_deliverable(*, id: int) -> Changed[Deliverable]:
    """Delete a deliverable."""
    return await records.delete(KIND, id=id)
