"""What the client really requires."""

from typing import Any

from models import Need, Person
from models.enums import Priority
from services.alerts.evaluation import Changed
from services.core import records
from services.core.fields import Choice, Item, Moment, Ref, Text

KIND = records.Kind(
    model=Need,
    label="need",
    spec={
        "item": Item(),
        "description": Text(),
        "priority": Choice(enum=Priority),
        "raised_by_id": Ref(nullable=True, model=Person, label="person"),
        "validated_at": Moment(nullable=True),
    },
    required=frozenset({"item", "description", "priority"}),
)


async def create_need(*, engagement_id: int, **values: Any) -> Changed[Need]:
    """Record a need of the client for a scope item."""
    return await records.create(KIND, engagement_id=engagement_id, values=values)


async def update_need(*, id: int, **changes: Any) -> Changed[Need]:
    """Change a need."""
    return await records.update(KIND, id=id, changes=changes)


async def delete_need(*, id: int) -> Changed[Need]:
    """Delete a need."""
    return await records.delete(KIND, id=id)
