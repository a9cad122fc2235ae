"""Approved changes to what was bought: they move the baseline the sides are held to."""

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from models import ChangeOrder, Person
from models.enums import ChangeOrderStatus
from services.alerts.evaluation import Changed
from services.core import records
from services.core.errors import FieldError
from services.core.fields import Choice, Item, Moment, Money, Quantity, Ref, Text
from services.engagements.decisions import Decision


def _approval_has_an_approver(values: Mapping[str, Any]) -> list[FieldError]:
    if values.get("status") == ChangeOrderStatus.APPROVED and not values.get("approved_by_id"):
        return [FieldError("approved_by_id", "is required when the status is APPROVED")]
    return []


KIND = records.Kind(
    model=ChangeOrder,
    label="change order",
    spec={
        "item": Item(),
        "description": Text(),
        "quantity_delta": Quantity(signed=True),
        "amount_delta": Money(signed=True),
        "cost_delta": Money(signed=True),
        "status": Choice(enum=ChangeOrderStatus),
        "approved_by_id": Ref(nullable=True, model=Person, label="person"),
        "approved_at": Moment(nullable=True),
    },
    required=frozenset({"item", "description"}),
    cross_checks=(_approval_has_an_approver,),
    # Changing the deltas of an approved change order, or stamping its approval anew, is
    # approving it again.
    decides=records.Decides(
        Decision.APPROVE_CHANGE_ORDER,
        fields=frozenset(
            {
                "status",
                "approved_by_id",
                "approved_at",
                "quantity_delta",
                "amount_delta",
                "cost_delta",
            }
        ),
        when=lambda v: v.get("status") == ChangeOrderStatus.APPROVED,
        named="approved_by_id",
    ),
)


async def create_change_order(*, engagement_id: int, **values: Any) -> Changed[ChangeOrder]:
    """Record a change to an item's bought quantity, amount or cost."""
    for delta in ("quantity_delta", "amount_delta", "cost_delta"):
        values.setdefault(delta, Decimal(0))
    values.setdefault("status", ChangeOrderStatus.PROPOSED)
    return await records.create(KIND, engagement_id=engagement_id, values=values)


async def update_change_order(*, id: int, **changes: Any) -> Changed[ChangeOrder]:
    """Change a change order (approve or reject it, correct its deltas)."""
    return await records.update(KIND, id=id, changes=changes)


async def delete_change_order(*, id: int) -> Changed[ChangeOrder]:
    """Delete a change order."""
    return await records.delete(KIND, id=id)
