"""Contract lines: what the client bought."""

from typing import Any

from models import Purchase
from services.alerts.evaluation import Changed
from services.core import records
from services.core.fields import Day, Item, Moment, Money, Quantity, Text

KIND = records.Kind(
    model=Purchase,
    label="purchase",
    spec={
        "item": Item(),
        "description": Text(),
        "quantity": Quantity(),
        "amount": Money(),
        "estimated_cost": Money(nullable=True),
        "due_date": Day(nullable=True),
        "signed_at": Moment(nullable=True),
        "contract_ref": Text(nullable=True, max_length=100),
    },
    required=frozenset({"item", "description", "quantity", "amount"}),
)


async def create_purchase(*, engagement_id: int, **values: Any) -> Changed[Purchase]:
    """Record a contract line for a scope item."""
    return await records.create(KIND, engagement_id=engagement_id, values=values)


async def update_purchase(*, id: int, **changes: Any) -> Changed[Purchase]:
    """Change a contract line."""
    return await records.update(KIND, id=id, changes=changes)


async def delete_purchase(*, id: int) -> Changed[Purchase]:
    """Delete a contract line."""
    return await records.delete(KIND, id=id)
