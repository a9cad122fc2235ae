"""The audit trail over GraphQL: every committed change, who made it, and the object
before and after it (``auditLog``), for admins and finance."""

from __future__ import annotations

import datetime as dt
from typing import Any

import strawberry
from strawberry.scalars import JSON

import api.engagements.roles  # noqa: F401  (registers EngagementFunction as a GraphQL enum first)
from api.core.access import TYPES, may_read_type
from api.core.context import Info
from api.core.inputs import check_filter
from api.core.relay import (
    Connection,
    Node,
    filter_id,
    id_argument,
    page_of_query,
    to_global_id,
    window,
)
from api.parties.people import Person
from models import AuditEntry as AuditEntryModel
from models.enums import EngagementFunction
from services.core.audit import ActorKind

strawberry.enum(
    ActorKind,
    name="AuditActorKind",
    description="API_KEY: a request made with an API key. COMMAND: a `fourway` command run "
    "on the server. SYSTEM: the service itself (the sweep, a disabled webhook endpoint).",
)


@strawberry.type(description="Who made a change.")
class AuditActor:
    kind: ActorKind
    api_key_prefix: str | None = strawberry.field(
        description="The visible start (fw_...) of the API key the change was made with."
    )
    person_id: strawberry.ID | None = strawberry.field(
        description="The person the key belongs to, kept when the person is deleted."
    )
    person_pk: strawberry.Private[int | None]
    function: EngagementFunction | None = strawberry.field(
        description="The engagement function the person took the change's decision in; null "
        "when the change took no decision, or a key acting for no person took it."
    )

    @strawberry.field(description="The person the key belongs to; null if none or deleted.")
    async def person(self, info: Info) -> Person | None:
        if self.person_pk is None:
            return None
        row = await info.context.loaders.person.load(self.person_pk)
        return Person.from_model(row) if row is not None else None


@strawberry.type(
    description="One committed change: who made it, when, to what, and the object before "
    "and after it, as the API shows it (secrets are never recorded)."
)
class AuditEntry(Node):
    model = AuditEntryModel  # the rows node(id:) loads (api.core.relay.Node)

    @classmethod
    def visible_to(cls, principal: Any, row: Any) -> bool:
        """An entry about something the key may not read is as if it did not exist."""
        return may_read_type(principal, row.target_type)

    at: dt.datetime
    action: str = strawberry.field(
        description="What was done, as <object>.<verb>: promise.updated, alert.waived, "
        "engagement.credits_set, api_key.revoked, ..."
    )
    actor: AuditActor
    decision: str | None = strawberry.field(
        description="The decision the change took, as the README's table of who may decide "
        "names it (approve-deal, sign-off-delivery, accept-deliverable, approve-change-order, "
        "waive-holding-alert, acknowledge-holding-alert); null for other changes."
    )
    target_type: str = strawberry.field(description="The type of the object changed.")
    target_id: strawberry.ID = strawberry.field(
        description="The global id of the object changed (it may since have been deleted)."
    )
    engagement_id: strawberry.ID | None = strawberry.field(
        description="The engagement the object belongs to, if any."
    )
    before: JSON | None = strawberry.field(description="The object before; null if created.")
    after: JSON | None = strawberry.field(description="The object after; null if deleted.")
    changed_fields: list[str] = strawberry.field(
        description="The fields whose values differ between before and after."
    )

    @classmethod
    def from_model(cls, row: AuditEntryModel) -> AuditEntry:
        return cls(
            id=strawberry.ID(to_global_id("AuditEntry", row.pk)),
            at=row.at,
            action=row.action,
            actor=AuditActor(
                kind=ActorKind(row.actor_kind),
                api_key_prefix=row.actor_key_prefix,
                person_id=(
                    strawberry.ID(to_global_id("Person", row.actor_person_id))
                    if row.actor_person_id is not None
                    else None
                ),
                person_pk=row.actor_person_id,
                function=EngagementFunction(row.actor_function) if row.actor_function else None,
            ),
            decision=row.decision,
            target_type=row.target_type,
            target_id=strawberry.ID(to_global_id(row.target_type, row.target_id)),
            engagement_id=(
                strawberry.ID(to_global_id("Engagement", row.engagement_id))
                if row.engagement_id is not None
                else None
            ),
            before=JSON(row.before) if row.before is not None else None,
            after=JSON(row.after) if row.after is not None else None,
            changed_fields=list(row.changed_fields),
        )


@strawberry.input(description="Which changes to list; every given condition must hold.")
class AuditLogFilter:
    target_id: strawberry.ID | None = strawberry.field(
        default=None, description="Changes to this object (any type's global id)."
    )
    engagement_id: strawberry.ID | None = strawberry.field(
        default=None, description="Changes to this engagement or to anything on it."
    )
    action: list[str] | None = strawberry.field(
        default=None, description="Any of these actions (promise.updated, ...)."
    )
    person_id: strawberry.ID | None = strawberry.field(
        default=None, description="Changes made with a key of this person."
    )
    api_key_prefix: str | None = strawberry.field(
        default=None, description="Changes made with the key of this prefix (fw_...)."
    )
    since: dt.datetime | None = strawberry.field(default=None, description="At or after.")
    until: dt.datetime | None = strawberry.field(default=None, description="Before.")


def _entries(info: Info, f: AuditLogFilter | None) -> Any:
    # Changes to what a key may not read (see api.core.access) stay out of its trail too.
    hidden = [t for t in TYPES if not may_read_type(info.context.principal, t)]
    query = AuditEntryModel.exclude(target_type__in=hidden) if hidden else AuditEntryModel.all()
    check_filter(f)
    if f is None:
        return query
    if f.target_id is not None:
        type_name, pk = id_argument(f.target_id, None, "filter: targetId")
        query = query.filter(target_type=type_name, target_id=pk)
    if f.engagement_id is not None:
        query = query.filter(engagement_id=filter_id(f.engagement_id, "Engagement", "engagementId"))
    if f.action:
        query = query.filter(action__in=f.action)
    if f.person_id is not None:
        query = query.filter(actor_person_id=filter_id(f.person_id, "Person", "personId"))
    if f.api_key_prefix is not None:
        query = query.filter(actor_key_prefix=f.api_key_prefix)
    if f.since is not None:
        query = query.filter(at__gte=f.since)
    if f.until is not None:
        query = query.filter(at__lt=f.until)
    return query


@strawberry.type
class AuditQuery:
    @strawberry.field(
        description="Every committed change, oldest first (`last` for the newest): who, "
        "when, what, and the object before and after."
    )
    async def audit_log(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        filter: AuditLogFilter | None = None,
    ) -> Connection[AuditEntry]:
        return await page_of_query(
            _entries(info, filter), window(first, after, last, before), AuditEntry.from_model
        )
