"""What sales promised, and whether delivery signed off on it."""

from collections.abc import Mapping
from typing import Any

from models import Person, Promise
from services.alerts.evaluation import Changed
from services.core import records
from services.core.errors import FieldError
from services.core.fields import Day, Item, Moment, Money, Quantity, Ref, Text
from services.engagements.decisions import Decision


def _signoff_has_a_signer(values: Mapping[str, Any]) -> list[FieldError]:
    if values.get("delivery_signoff_at") and not values.get("delivery_signoff_by_id"):
        return [FieldError("delivery_signoff_by_id", "is required when deliverySignoffAt is set")]
    return []


KIND = records.Kind(
    model=Promise,
    label="promise",
    spec={
        "item": Item(),
        "description": Text(),
        "quantity": Quantity(),
        "made_by_id": Ref(model=Person, label="person"),
        "promised_date": Day(nullable=True),
        "quoted_amount": Money(nullable=True),
        "made_at": Moment(nullable=True),
        "delivery_signoff_by_id": Ref(nullable=True, model=Person, label="person"),
        "delivery_signoff_at": Moment(nullable=True),
    },
    required=frozenset({"item", "description", "quantity", "made_by_id"}),
    cross_checks=(_signoff_has_a_signer,),
    decides=records.Decides(
        Decision.SIGN_OFF_DELIVERY,
        fields=frozenset({"delivery_signoff_by_id", "delivery_signoff_at"}),
        when=lambda v: bool(v.get("delivery_signoff_by_id") or v.get("delivery_signoff_at")),
        named="delivery_signoff_by_id",
    ),
)


async def create_promise(*, engagement_id: int, **values: Any) -> Changed[Promise]:
    """Record what a salesperson promised for a scope item."""
    return await records.create(KIND, engagement_id=engagement_id, values=values)


async def update_promise(*, id: int, **changes: Any) -> Changed[Promise]:
    """Change a promise."""
    return await records.update(KIND, id=id, changes=changes)


async def delete_promise(*, id: int) -> Changed[Promise]:
    """Delete a promise."""
    return await records.delete(KIND, id=id)
