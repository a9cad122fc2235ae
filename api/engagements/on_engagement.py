"""What every row that hangs off an engagement shows: the engagement it belongs to."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import strawberry

from api.core.context import Info

if TYPE_CHECKING:
    from api.engagements.engagements import Engagement


@strawberry.type
class OnEngagement:
    engagement_pk: strawberry.Private[int]

    @strawberry.field(description="The engagement this belongs to.")
    async def engagement(
        self, info: Info
    ) -> Annotated[Engagement, strawberry.lazy("api.engagements.engagements")]:
        from api.engagements.engagements import load_engagement

        return await load_engagement(info, self.engagement_pk)
