"""Engagements: their four sides, roles, alignment per item, and money."""

from __future__ import annotations

import datetime as dt
import inspect
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import strawberry

from api.alerts.alerts import Alert
from api.core.access import may_read_type, own_signals_only
from api.core.context import Info
from api.core.enums import AlertStatus, Severity
from api.core.inputs import check_filter
from api.core.mutations import crud, mutation, mutation_type, payload_type
from api.core.presented import FromRow
from api.core.relay import (
    Connection,
    EngagementId,
    Node,
    OrganizationId,
    Window,
    filter_id,
    page_of_list,
    page_of_query,
    window,
)
from api.engagements.change_orders import ChangeOrder
from api.engagements.deals import ApproveDealInput, DealApproval
from api.engagements.deliverables import Deliverable
from api.engagements.needs import Need
from api.engagements.promises import Promise
from api.engagements.purchases import Purchase
from api.engagements.roles import RoleAssignment
from api.parties.organizations import Organization
from models import Engagement as EngagementModel
from models.enums import (
    DecisionModel,
    EngagementFunction,
    EngagementStatus,
    Priority,
)
from rules.thresholds import THRESHOLDS
from services.alerts.evaluation import LIVE
from services.alerts.evaluation import thresholds as evaluation_thresholds
from services.engagements import alignment
from services.engagements import deals as deals_service
from services.engagements import engagements as service
from services.engagements import health as health_service

if TYPE_CHECKING:
    from api.compensation.compensation import CompensationSignal, Credit

T = TypeVar("T")
C = TypeVar("C")

strawberry.enum(EngagementStatus, description="PROPOSED → SOLD → DELIVERING → SUPPORTING → CLOSED.")
strawberry.enum(DecisionModel, description="How the client decides.")


@strawberry.type(description="What the client needs of an item.")
class NeededSide:
    priority: Priority


@strawberry.type(description="A quantity and what it is worth, in the engagement's currency.")
class SizedSide:
    quantity: Decimal
    amount: Decimal | None


@strawberry.type(description="How much of an item was delivered, and how much of that accepted.")
class DeliveredSide:
    quantity: Decimal
    accepted: Decimal


@strawberry.type(description="The four sides of one scope item, side by side.")
class AlignmentRow:
    item: str
    needed: NeededSide | None
    promised: SizedSide | None
    bought: SizedSide | None = strawberry.field(
        description="Contract lines plus approved change orders."
    )
    delivered: DeliveredSide | None

    @classmethod
    def from_row(cls, row: alignment.AlignmentRow) -> AlignmentRow:
        return cls(
            item=row.item,
            needed=NeededSide(priority=row.needed.priority) if row.needed else None,
            promised=SizedSide(quantity=row.promised.quantity, amount=row.promised.amount)
            if row.promised
            else None,
            bought=SizedSide(quantity=row.bought.quantity, amount=row.bought.amount)
            if row.bought
            else None,
            delivered=DeliveredSide(
                quantity=row.delivered.quantity, accepted=row.delivered.accepted
            )
            if row.delivered
            else None,
        )


@strawberry.type(description="The engagement's money, in its currency.")
class Financials:
    currency: str
    revenue: Decimal = strawberry.field(description="Contract lines plus approved change orders.")
    estimated_cost: Decimal
    actual_cost: Decimal = strawberry.field(description="Actual cost recorded on deliverables.")
    actual_cost_complete: bool = strawberry.field(
        description="Whether every accepted deliverable has its actual cost; until then the "
        "actual cost is incomplete and the sale's final pay waits."
    )
    margin: Decimal = strawberry.field(description="Revenue less estimated cost.")
    margin_pct: Decimal | None = strawberry.field(
        description='Margin as a fraction of revenue ("0.25" is 25%); null without revenue.'
    )


def _side_connection(side: str, node: Any, description: str) -> Any:
    """A connection over one side of the engagement's facts, paged in memory."""

    async def resolve(
        root: Engagement,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Any:
        facts = await info.context.loaders.facts_of.load(root.pk)
        return page_of_list(
            getattr(facts, side), window(first, after, last, before), node.from_model
        )

    resolve.__annotations__["return"] = Connection[node]
    return strawberry.field(resolver=resolve, description=description)


@strawberry.type(description="How many live alerts of one severity.")
class SeverityCount:
    severity: Severity
    count: int


@strawberry.type(description="Whether a party to the engagement has reason to be satisfied.")
class Verdict:
    satisfied: bool
    reasons: list[str] = strawberry.field(description="The live alerts that say otherwise.")


@strawberry.type(description="The engagement at a glance.")
class Health:
    open_alerts: list[SeverityCount]
    client: Verdict = strawberry.field(description="Satisfied when the four sides match.")
    sponsor: Verdict = strawberry.field(description="Satisfied when margin and cost are on plan.")
    performers: Verdict = strawberry.field(
        description="Satisfied when no overdue, unaccepted or rejected work piles up."
    )
    evaluated_at: dt.datetime | None
    evaluation_error: str | None

    @classmethod
    def of(
        cls,
        made: health_service.Health,
        *,
        evaluated_at: dt.datetime | None,
        evaluation_error: str | None,
    ) -> Health:
        def verdict(party: str) -> Verdict:
            v = made.verdicts[party]
            return Verdict(satisfied=v.satisfied, reasons=list(v.reasons))

        return cls(
            open_alerts=[SeverityCount(severity=s, count=n) for s, n in made.open_alerts.items()],
            client=verdict("client"),
            sponsor=verdict("sponsor"),
            performers=verdict("performers"),
            evaluated_at=evaluated_at,
            evaluation_error=evaluation_error,
        )


@strawberry.type(description="Professional-services work sold to a client, with its four sides.")
class Engagement(Node):
    model = EngagementModel  # the rows node(id:) loads (api.core.relay.Node)
    name: str
    status: EngagementStatus
    in_house: bool
    currency: str
    decision_model: DecisionModel
    created_at: dt.datetime
    updated_at: dt.datetime
    pk: strawberry.Private[int]
    client_pk: strawberry.Private[int]
    evaluated_at: dt.datetime | None = strawberry.field(
        description="When the rules last checked the engagement."
    )
    evaluation_error: str | None = strawberry.field(
        description="Why the last check failed: its alerts may be stale. Null when it worked."
    )
    threshold_overrides: strawberry.Private[dict[str, str]]

    from_model = FromRow(
        EngagementModel, threshold_overrides=lambda row: dict(row.thresholds or {})
    )

    @strawberry.field
    async def client(self, info: Info) -> Organization:
        row = await info.context.loaders.organization.load(self.client_pk)
        assert row is not None  # the foreign key guarantees it
        return Organization.from_model(row)

    @strawberry.field(
        description="Who must approve the deal (its move to SOLD), who did, and who is missing."
    )
    async def deal_approval(self) -> DealApproval:
        return DealApproval.from_state(
            await deals_service.state_of(self.pk, DecisionModel(self.decision_model))
        )

    @strawberry.field(description="Who holds which function.")
    async def roles(self, info: Info) -> list[RoleAssignment]:
        rows = (await info.context.loaders.facts_of.load(self.pk)).roles
        return [RoleAssignment.from_model(r) for r in rows]

    needs = _side_connection("needs", Need, "What the client needs, per item.")
    promises = _side_connection("promises", Promise, "What sales promised, per item.")
    purchases = _side_connection("purchases", Purchase, "What the client bought, per item.")
    deliverables = _side_connection(
        "deliverables", Deliverable, "What delivery planned or handed over, per item."
    )
    change_orders = _side_connection(
        "change_orders", ChangeOrder, "Changes to what was bought, per item."
    )

    @strawberry.field(
        description="The engagement's alerts, oldest first; all statuses unless told."
    )
    async def alerts(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        status: list[AlertStatus] | None = None,
    ) -> Connection[Alert]:
        rows = await info.context.loaders.alerts_of.load(self.pk)
        if status:
            rows = [a for a in rows if a.status in status]
        return page_of_list(rows, window(first, after, last, before), Alert.from_model)

    @strawberry.field(description="The compensation signals the sale emitted, oldest first.")
    async def compensation_signals(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[
        Annotated[CompensationSignal, strawberry.lazy("api.compensation.compensation")]
    ]:
        from api.compensation.compensation import (
            CompensationSignal,
            CompensationSignalFilter,
            signals_query,
        )

        return await page_of_query(
            signals_query(CompensationSignalFilter(engagement_id=self.id), info.context.principal),
            window(first, after, last, before),
            CompensationSignal.from_model,
        )

    @strawberry.field(
        description="Who is credited with the sale, and their shares: a salesperson's key "
        "sees its own; roles that may not read pay see none."
    )
    async def credits(
        self, info: Info
    ) -> list[Annotated[Credit, strawberry.lazy("api.compensation.compensation")]]:
        from api.compensation.compensation import Credit

        principal = info.context.principal
        if not may_read_type(principal, "Credit"):
            return []
        own = own_signals_only(principal)
        rows = await info.context.loaders.credits_of.load(self.pk)
        return [Credit.from_model(r) for r in rows if own is None or r.person_id == own]

    @strawberry.field(description="The thresholds the rules apply to this engagement.")
    def thresholds(self) -> Thresholds:
        values: dict[str, Any] = evaluation_thresholds(self.threshold_overrides).values()
        return Thresholds(**values, overridden=sorted(self.threshold_overrides))

    @strawberry.field(
        description="Every engagement function, with whether this engagement needs someone "
        "to hold it: the table of functions by kind of engagement, with its own overrides."
    )
    async def required_functions(self, info: Info) -> list[RequiredFunction]:
        row = await info.context.loaders.engagement.load(self.pk)
        assert row is not None  # this engagement was read in this request
        return [
            RequiredFunction(
                function=need.function,
                required=need.required,
                required_by_default=need.by_default,
                overridden=need.overridden,
            )
            for need in await service.functions_needed(row)
        ]

    @strawberry.field(description="Live alerts by severity, and whether each party is satisfied.")
    async def health(self, info: Info) -> Health:
        rows = await info.context.loaders.alerts_of.load(self.pk)
        return Health.of(
            health_service.health(a for a in rows if a.status in LIVE),
            evaluated_at=self.evaluated_at,
            evaluation_error=self.evaluation_error,
        )

    @strawberry.field(description="One row per scope item: needed, promised, bought, delivered.")
    async def alignment(self, info: Info) -> list[AlignmentRow]:
        facts = await info.context.loaders.facts_of.load(self.pk)
        rows = alignment.align(
            needs=facts.needs,
            promises=facts.promises,
            purchases=facts.purchases,
            deliverables=facts.deliverables,
            change_orders=facts.change_orders,
        )
        return [AlignmentRow.from_row(r) for r in rows]

    @strawberry.field
    async def financials(self, info: Info) -> Financials:
        facts = await info.context.loaders.facts_of.load(self.pk)
        money = alignment.financials(
            purchases=facts.purchases,
            deliverables=facts.deliverables,
            change_orders=facts.change_orders,
        )
        return Financials(
            currency=self.currency,
            revenue=money.revenue,
            estimated_cost=money.estimated_cost,
            actual_cost=money.actual_cost,
            actual_cost_complete=money.actual_cost_complete,
            margin=money.margin,
            margin_pct=money.margin_pct,
        )


async def load_engagement(info: Info, pk: int) -> Engagement:
    row = await info.context.loaders.engagement.load(pk)
    assert row is not None  # every engagement row's children keep it alive (cascade)
    return Engagement.from_model(row)


@strawberry.input(description="Which engagements to list; every given condition must hold.")
class EngagementFilter:
    status: list[EngagementStatus] | None = None
    client_id: strawberry.ID | None = None
    salesperson_id: strawberry.ID | None = strawberry.field(
        default=None, description="Engagements this person sells: a SALES role or a promise made."
    )
    item: str | None = strawberry.field(
        default=None, description="Engagements with any side naming this scope item."
    )
    search: str | None = strawberry.field(default=None, description="Part of the name.")


def _filtered(f: EngagementFilter | None) -> Any:
    check_filter(f)
    if f is None:
        return service.engagements_matching(service.EngagementCriteria())
    return service.engagements_matching(
        service.EngagementCriteria(
            status=tuple(f.status) if f.status else None,
            client_id=None
            if f.client_id is None
            else filter_id(f.client_id, "Organization", "clientId"),
            salesperson_id=None
            if f.salesperson_id is None
            else filter_id(f.salesperson_id, "Person", "salespersonId"),
            item=f.item,
            search=f.search,
        )
    )


async def engagements_page(
    info: Info, f: EngagementFilter | None, w: Window
) -> Connection[Engagement]:
    """A page of engagements; the rows prime the request's loader for later lookups."""

    def build(row: EngagementModel) -> Engagement:
        info.context.loaders.engagement.prime(row.pk, row)
        return Engagement.from_model(row)

    return await page_of_query(_filtered(f), w, build)


def _one_field_per_threshold(*, described: bool) -> Callable[[type[C]], type[C]]:
    """Give a class one GraphQL field per declared threshold (rules.thresholds), before the
    fields it declares itself: required and described, or optional (unset when left out)."""

    def declare(cls: type[C]) -> type[C]:
        annotations: dict[str, Any] = {}
        for threshold in THRESHOLDS:
            if described:
                annotations[threshold.name] = threshold.type
                setattr(cls, threshold.name, strawberry.field(description=threshold.description))
            else:
                annotations[threshold.name] = threshold.type | None
                setattr(cls, threshold.name, strawberry.UNSET)
        cls.__annotations__ = {**annotations, **inspect.get_annotations(cls)}
        return cls

    return declare


@strawberry.input(
    description="Overrides of the rules' thresholds for one engagement; null restores the default."
)
# Its fields carry no descriptions, as they never did: schema.graphql is what frontends
# generate code from, and the output type beside it says what each threshold means.
@_one_field_per_threshold(described=False)
class ThresholdsInput:
    pass


@strawberry.input(
    description="An engagement's own answers to whether it needs someone in a function, over "
    "the table of functions by kind of engagement (see the README): true needs it, false "
    "does not, null restores the table's answer."
)
class RequiredFunctionsInput:
    sales: bool | None = strawberry.UNSET
    engagement_management: bool | None = strawberry.UNSET
    project_management: bool | None = strawberry.UNSET
    delivery: bool | None = strawberry.UNSET
    functional_management: bool | None = strawberry.UNSET
    procurement: bool | None = strawberry.UNSET
    legal: bool | None = strawberry.UNSET
    quality: bool | None = strawberry.UNSET
    customer_service: bool | None = strawberry.UNSET
    finance: bool | None = strawberry.UNSET
    sponsor: bool | None = strawberry.UNSET


@strawberry.type(description="Whether an engagement needs someone to hold a function.")
class RequiredFunction:
    function: EngagementFunction
    required: bool = strawberry.field(
        description="Whether nobody holding it raises function-unassigned."
    )
    required_by_default: bool = strawberry.field(
        description="What the table of functions by kind of engagement says (every engagement "
        "needs SALES, ENGAGEMENT_MANAGEMENT and DELIVERY; one not in house also LEGAL, "
        "PROCUREMENT and FINANCE; one with deliverables also QUALITY)."
    )
    overridden: bool = strawberry.field(
        description="Whether the engagement answers for itself (requiredFunctions)."
    )


@strawberry.type(description="The thresholds the rules apply to an engagement.")
@_one_field_per_threshold(described=True)
class Thresholds:
    overridden: list[str] = strawberry.field(
        description="Which of these the engagement overrides (the rest are the defaults)."
    )


@strawberry.input(description="A new engagement for a client.")
class CreateEngagementInput:
    name: str
    client_id: OrganizationId
    currency: str = strawberry.field(description='ISO 4217 code, such as "EUR".')
    status: EngagementStatus | None = strawberry.field(
        default=strawberry.UNSET, description="PROPOSED when left out."
    )
    in_house: bool | None = strawberry.field(
        default=strawberry.UNSET, description="false when left out."
    )
    decision_model: DecisionModel | None = strawberry.field(
        default=strawberry.UNSET, description="AUTHORITY when left out."
    )
    thresholds: ThresholdsInput | None = strawberry.field(
        default=strawberry.UNSET, description="The settings' defaults when left out."
    )
    required_functions: RequiredFunctionsInput | None = strawberry.field(
        default=strawberry.UNSET,
        description="The table of functions by kind of engagement when left out.",
    )


@strawberry.type
class EngagementQuery:
    @strawberry.field(description="Engagements, oldest first, filtered.")
    async def engagements(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        filter: EngagementFilter | None = None,
    ) -> Connection[Engagement]:
        return await engagements_page(info, filter, window(first, after, last, before))

    @strawberry.field(description="One engagement by its global id; null when there is none.")
    async def engagement(self, info: Info, id: strawberry.ID) -> Engagement | None:
        from api.core.nodes import resolve_node

        node = await resolve_node(info, id)
        return node if isinstance(node, Engagement) else None


@strawberry.input(description="The engagement to check against the rules now.")
class EvaluateEngagementInput:
    id: EngagementId


EngagementMutation = mutation_type(
    "EngagementMutation",
    {
        "evaluate_engagement": mutation(
            input_type=EvaluateEngagementInput,
            payload=payload_type("EvaluateEngagement", "engagement", Engagement, evaluates=True),
            field="engagement",
            service=service.evaluate_engagement,
            build=Engagement.from_model,
            description="Check the engagement against the rules now and bring its alerts in line.",
        ),
        "approve_deal": mutation(
            input_type=ApproveDealInput,
            payload=payload_type("ApproveDeal", "engagement", Engagement, evaluates=True),
            field="engagement",
            service=deals_service.approve_deal,
            build=Engagement.from_model,
            description="Approve the engagement's deal as the person the key acts for "
            "(ENGAGEMENT_MANAGEMENT or SPONSOR, ACCOUNTABLE or RESPONSIBLE; an ADMIN key tied "
            "to no person with a note); the approval that completes its decision model moves "
            "it to SOLD.",
        ),
        **crud(
            type_name="Engagement",
            field="engagement",
            node_type=Engagement,
            build=Engagement.from_model,
            create_input=CreateEngagementInput,
            create=service.create_engagement,
            update=service.update_engagement,
            delete=service.delete_engagement,
            label="engagement",
        ),
    },
)
