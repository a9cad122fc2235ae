"""Commission plans, plan assignments, and who is credited with a sale."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.scalars import JSON

from api.core.access import QUERIES, Forbidden, own_signals_only
from api.core.context import Info
from api.core.enums import Severity, SignalKind
from api.core.errors import UserError
from api.core.inputs import check_filter, decode_id, to_values
from api.core.mutations import mutation, mutation_type, payload_type, update_input
from api.core.presented import FromRow
from api.core.principal import Principal
from api.core.relay import (
    BadUserInput,
    CommissionPlanId,
    Connection,
    EngagementId,
    Node,
    PersonId,
    filter_id,
    page_of_query,
    window,
)
from api.core.scalars import BadScalar
from api.parties.people import Person, person_or_none
from models import CommissionPlan as CommissionPlanModel
from models import CommissionPlanVersion as CommissionPlanVersionModel
from models import CompensationPeriod as CompensationPeriodModel
from models import CompensationSignal as CompensationSignalModel
from models import Credit as CreditModel
from models import PlanAssignment as PlanAssignmentModel
from services.compensation import commission_plans as service
from services.compensation import periods, sales
from services.compensation.statements import EntryCriteria, Statement, entries_matching, statement
from services.core.errors import FieldError, Invalid

if TYPE_CHECKING:
    from api.engagements.engagements import Engagement


@strawberry.type(description="How salespeople on it are paid: a share of margin above a floor.")
class CommissionPlan(Node):
    model = CommissionPlanModel  # the rows node(id:) loads (api.core.relay.Node)
    name: str
    rate_on_margin: Decimal = strawberry.field(description='Share of margin paid ("0.10" is 10%).')
    margin_floor_pct: Decimal = strawberry.field(
        description="Below this margin, as a fraction of revenue, a sale earns nothing."
    )
    hold_rules: list[str] = strawberry.field(description="Rules whose open alerts hold pay.")
    hold_severities: list[Severity] = strawberry.field(
        description="Severities of those alerts that hold pay."
    )
    reducing_attributions: list[str] = strawberry.field(
        description="Cost variances that reduce pay: SALES_UNDERESTIMATE, DELIVERY_OVERRUN, "
        "APPROVED_CHANGE."
    )
    clawback_window_days: int
    is_default: bool

    @strawberry.field(
        description="Every version of the plan's terms, the first first: a sale is paid "
        "under the version in force when it was signed."
    )
    async def versions(self) -> list[CommissionPlanVersion]:
        rows = await CommissionPlanVersionModel.filter(plan_id=self.pk).order_by("version")
        return [CommissionPlanVersion.from_model(r) for r in rows]

    pk: strawberry.Private[int]

    from_model = FromRow(CommissionPlanModel)


@strawberry.type(description="One version of a plan's terms, in force from its date on.")
class CommissionPlanVersion:
    version: int
    effective_from: dt.datetime
    rate_on_margin: Decimal
    margin_floor_pct: Decimal
    hold_rules: list[str]
    hold_severities: list[Severity]
    reducing_attributions: list[str]
    clawback_window_days: int
    created_at: dt.datetime

    from_model = FromRow(CommissionPlanVersionModel)


@strawberry.type(description="A month finance closed: its statements never change again.")
class CompensationPeriod(Node):
    model = CompensationPeriodModel  # the rows node(id:) loads (api.core.relay.Node)
    period: str = strawberry.field(description="The month, YYYY-MM.")
    closed_at: dt.datetime

    from_model = FromRow(CompensationPeriodModel)


@strawberry.type(description="A salesperson's share of an engagement's sale.")
class Credit:
    split_pct: Decimal = strawberry.field(description='The share, as a fraction ("0.5" is 50%).')
    person_pk: strawberry.Private[int]

    @strawberry.field
    async def salesperson(self, info: Info) -> Person:
        person = await person_or_none(info, self.person_pk)
        assert person is not None  # the foreign key guarantees it
        return person

    from_model = FromRow(CreditModel)


@strawberry.type(description="The plan a salesperson is on.")
class PlanAssignment:
    plan: CommissionPlan
    person_pk: strawberry.Private[int]

    @strawberry.field
    async def person(self, info: Info) -> Person:
        person = await person_or_none(info, self.person_pk)
        assert person is not None  # the foreign key guarantees it
        return person


@strawberry.input(description="A commission plan.")
class CreateCommissionPlanInput:
    name: str
    rate_on_margin: Decimal
    margin_floor_pct: Decimal
    hold_rules: list[str] | None = strawberry.field(
        default=strawberry.UNSET,
        description="Rule ids whose open alerts hold pay; the sale's critical mismatches when "
        "left out.",
    )
    hold_severities: list[Severity] | None = strawberry.field(
        default=strawberry.UNSET, description="CRITICAL when left out."
    )
    reducing_attributions: list[str] | None = strawberry.field(
        default=strawberry.UNSET, description="SALES_UNDERESTIMATE when left out."
    )
    clawback_window_days: int | None = strawberry.field(
        default=strawberry.UNSET, description="365 when left out."
    )
    is_default: bool | None = strawberry.field(
        default=strawberry.UNSET,
        description="The plan of everyone without one of their own. There is one default: "
        "making a plan the default unsets the previous one, which cannot be unset otherwise.",
    )
    effective_from: dt.datetime | None = strawberry.field(
        default=strawberry.UNSET,
        description="When these terms take effect: now when left out, never in the past. "
        "Changing any term makes a new version; a sale is paid under the version in force "
        "when it was signed.",
    )


@strawberry.input(description="The commission plan to delete.")
class DeleteCommissionPlanInput:
    id: CommissionPlanId


@strawberry.input(description="Put a salesperson on a plan.")
class AssignCommissionPlanInput:
    person_id: PersonId
    plan_id: CommissionPlanId


@strawberry.input(description="One salesperson's share of a sale.")
class CreditInput:
    person_id: PersonId
    split_pct: Decimal


@strawberry.input(description="Who is credited with an engagement's sale; splits sum to 1.")
class SetEngagementCreditsInput:
    engagement_id: EngagementId
    credits: list[CreditInput]


@strawberry.type
class SetEngagementCreditsPayload:
    credits: list[Credit] | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


async def _assignment(row: PlanAssignmentModel) -> PlanAssignment:
    plan = await CommissionPlanModel.get(id=row.plan_id)
    return PlanAssignment(plan=CommissionPlan.from_model(plan), person_pk=row.person_id)


def _credit_values(credits: list[CreditInput]) -> list[dict[str, Any]]:
    values, errors = [], []
    for n, credit in enumerate(credits):
        try:
            person = decode_id(str(credit.person_id), expected="Person", field="person_id")
        except Invalid as invalid:
            errors += [
                FieldError(f"credits.{n}.person_id", e.message, e.code) for e in invalid.errors
            ]
            continue
        if isinstance(credit.split_pct, BadScalar):
            errors.append(FieldError(f"credits.{n}.split_pct", credit.split_pct.message))
            continue
        values.append({"person_id": person, "split_pct": credit.split_pct})
    if errors:
        raise Invalid(errors)
    return values


@strawberry.type(
    description="A ledger entry: a change in a salesperson's pay (BOOKED, ADJUSTED) or in "
    "what is held of it (HELD, RELEASED). A correction is a new entry for the difference."
)
class CompensationSignal(Node):
    model = CompensationSignalModel  # the rows node(id:) loads (api.core.relay.Node)

    @classmethod
    def visible_to(cls, principal: Any, row: Any) -> bool:
        """A salesperson's key sees its own person's entries only."""
        own = own_signals_only(principal)
        return own is None or row.salesperson_id == own

    kind: SignalKind
    period: str = strawberry.field(description="The month it belongs to, YYYY-MM.")
    currency: str
    revenue: Decimal
    cost: Decimal
    margin: Decimal
    margin_pct: Decimal | None
    rate: Decimal
    split: Decimal = strawberry.field(description="The salesperson's share of the sale.")
    amount: Decimal = strawberry.field(
        description="The change: to pay (BOOKED, ADJUSTED: negative takes back), or to what "
        "is held (HELD adds, RELEASED frees). A person's BOOKED and ADJUSTED entries for a "
        "sale sum to what it pays them."
    )
    reason: str
    attribution: JSON = strawberry.field(
        description="Per item: the variance and whose it is (ADJUSTED), fixed at completion."
    )
    evidence: list[strawberry.ID] = strawberry.field(description="The alerts behind it.")
    supersedes: strawberry.ID | None = strawberry.field(
        description="The entry this one corrects: the person's previous entry for the sale "
        "of the same family (pay, or holds)."
    )
    idempotency_key: str
    created_at: dt.datetime
    engagement_pk: strawberry.Private[int]
    salesperson_pk: strawberry.Private[int]

    @strawberry.field
    async def salesperson(self, info: Info) -> Person:
        person = await person_or_none(info, self.salesperson_pk)
        assert person is not None  # the foreign key guarantees it
        return person

    @strawberry.field
    async def engagement(
        self, info: Info
    ) -> Annotated[Engagement, strawberry.lazy("api.engagements.engagements")]:
        from api.engagements.engagements import load_engagement

        return await load_engagement(info, self.engagement_pk)

    from_model = FromRow(CompensationSignalModel)


@strawberry.input(description="Which signals to list; every given condition must hold.")
class CompensationSignalFilter:
    salesperson_id: strawberry.ID | None = None
    engagement_id: strawberry.ID | None = None
    period: str | None = None
    kind: list[SignalKind] | None = None


def visible_entries(principal: Principal | None, criteria: EntryCriteria) -> Any:
    """The entries ``criteria`` select that ``principal`` may see; the one read path for
    compensation data (GraphQL and the CSV export). A salesperson's key sees their own;
    asking for someone else's is FORBIDDEN. Roles that may not read signals see none where
    they meet them nested."""
    if principal is None or principal.role not in QUERIES["compensationSignals"]:
        return entries_matching(criteria).filter(id=0)
    own = own_signals_only(principal)
    if own is not None:
        if criteria.salesperson_id not in (None, own):
            raise Forbidden(f"A {principal.role.value} key sees its own person's signals only.")
        criteria = dataclasses.replace(criteria, salesperson_id=own)
    return entries_matching(criteria)


def signals_query(f: CompensationSignalFilter | None, principal: Principal | None) -> Any:
    """The signals a filter selects that ``principal`` may see (``visible_entries``)."""
    check_filter(f)
    if f is None:
        return visible_entries(principal, EntryCriteria())
    return visible_entries(
        principal,
        EntryCriteria(
            salesperson_id=None
            if f.salesperson_id is None
            else filter_id(f.salesperson_id, "Person", "salespersonId"),
            engagement_id=None
            if f.engagement_id is None
            else filter_id(f.engagement_id, "Engagement", "engagementId"),
            period=None if f.period is None else _period(f.period),
            kinds=tuple(f.kind) if f.kind else None,
        ),
    )


def _period(value: str) -> str:
    try:
        return periods.parse_period(value)
    except Invalid as invalid:
        raise BadUserInput(f"{invalid.errors[0].message}.") from None


@strawberry.type(description="What one kind of signal adds up to.")
class KindTotal:
    kind: SignalKind
    amount: Decimal


@strawberry.type(
    description="What a salesperson's ledger says for one month. Every entry is a change, "
    "so the figures are sums: total is the sum of the lines, closingBalance the opening "
    "balance plus the total."
)
class CompensationStatement:
    period: str
    lines: list[CompensationSignal] = strawberry.field(
        description="The month's entries that change pay (BOOKED, ADJUSTED), oldest first."
    )
    holds: list[CompensationSignal] = strawberry.field(
        description="The month's HELD and RELEASED entries, oldest first."
    )
    totals: list[KindTotal] = strawberry.field(description="The month's entries per kind.")
    total: Decimal = strawberry.field(
        description="The sum of the lines: what the month adds to what is owed."
    )
    opening_balance: Decimal = strawberry.field(
        description="What the earlier months' lines add up to."
    )
    closing_balance: Decimal = strawberry.field(description="Opening balance plus total.")
    still_held: Decimal = strawberry.field(
        description="Of what is owed, how much waits on open alerts at the month's end."
    )
    closed_at: dt.datetime | None = strawberry.field(
        description="When finance closed the month; a closed month never changes."
    )
    person_pk: strawberry.Private[int]

    @strawberry.field
    async def salesperson(self, info: Info) -> Person:
        person = await person_or_none(info, self.person_pk)
        assert person is not None  # checked when the statement was made
        return person

    @classmethod
    def of(cls, made: Statement) -> CompensationStatement:
        return cls(
            period=made.period,
            lines=[CompensationSignal.from_model(r) for r in made.lines],
            holds=[CompensationSignal.from_model(r) for r in made.holds],
            totals=[KindTotal(kind=k, amount=a) for k, a in made.totals().items()],
            total=made.total,
            opening_balance=made.opening_balance,
            closing_balance=made.closing_balance,
            still_held=made.still_held,
            closed_at=made.closed_at,
            person_pk=made.salesperson_id,
        )


@strawberry.type
class CompensationQuery:
    @strawberry.field(description="Compensation signals, oldest first, filtered.")
    async def compensation_signals(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        filter: CompensationSignalFilter | None = None,
    ) -> Connection[CompensationSignal]:
        return await page_of_query(
            signals_query(filter, info.context.principal),
            window(first, after, last, before),
            CompensationSignal.from_model,
        )

    @strawberry.field(description="A salesperson's ledger for one month (YYYY-MM).")
    async def compensation_statement(
        self, info: Info, salesperson_id: strawberry.ID, period: str
    ) -> CompensationStatement:
        # The one read path says whether the key may see this person's pay at all.
        signals_query(
            CompensationSignalFilter(salesperson_id=salesperson_id, period=period),
            info.context.principal,
        )
        person = decode_id(str(salesperson_id), expected="Person", field="salesperson_id")
        made = await statement(salesperson_id=person, period=period)
        return CompensationStatement.of(made)

    @strawberry.field(description="The months finance closed, the latest first.")
    async def compensation_periods(self) -> list[CompensationPeriod]:
        rows = await CompensationPeriodModel.all().order_by("-period")
        return [CompensationPeriod.from_model(r) for r in rows]

    @strawberry.field(description="Every commission plan, the default first.")
    async def commission_plans(self) -> list[CommissionPlan]:
        rows = await CommissionPlanModel.all().order_by("-is_default", "id")
        return [CommissionPlan.from_model(r) for r in rows]


@strawberry.input(description="The month to close, YYYY-MM: this one or an earlier one.")
class CloseCompensationPeriodInput:
    period: str


@strawberry.input(description="A sale to re-price under today's plan versions and facts.")
class RepriceEngagementInput:
    engagement_id: EngagementId
    reason: str = strawberry.field(description="Why: every entry it writes carries it.")


@strawberry.type
class RepriceEngagementPayload:
    engagement: Annotated[Engagement, strawberry.lazy("api.engagements.engagements")] | None = None
    signals: list[CompensationSignal] = strawberry.field(
        default_factory=list, description="The entries the re-pricing wrote."
    )
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class AssignCommissionPlanPayload:
    assignment: PlanAssignment | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


def _credits_values(input: SetEngagementCreditsInput) -> dict[str, Any]:
    return {
        "engagement_id": to_values(input)["engagement_id"],
        "credits": _credit_values(input.credits),
    }


async def _credits(result: Any) -> dict[str, Any]:
    return {"credits": [Credit.from_model(c) for c in result.credits]}


async def _assigned(row: Any) -> dict[str, Any]:
    return {"assignment": await _assignment(row)}


async def _repriced(result: Any) -> dict[str, Any]:
    from api.engagements.engagements import Engagement

    return {
        "engagement": Engagement.from_model(result.engagement),
        "signals": [CompensationSignal.from_model(s) for s in result.signals],
    }


CompensationMutation = mutation_type(
    "CompensationMutation",
    {
        "create_commission_plan": mutation(
            input_type=CreateCommissionPlanInput,
            payload=payload_type("CreateCommissionPlan", "commission_plan", CommissionPlan),
            field="commission_plan",
            service=service.create_commission_plan,
            build=CommissionPlan.from_model,
            description="Add a commission plan.",
        ),
        "update_commission_plan": mutation(
            input_type=update_input(
                "UpdateCommissionPlan",
                CreateCommissionPlanInput,
                id_of="CommissionPlan",
                description="Changes to a commission plan.",
            ),
            payload=payload_type("UpdateCommissionPlan", "commission_plan", CommissionPlan),
            field="commission_plan",
            service=service.update_commission_plan,
            build=CommissionPlan.from_model,
            description="Change a commission plan: fields left out keep their values.",
        ),
        "delete_commission_plan": mutation(
            input_type=DeleteCommissionPlanInput,
            payload=payload_type(
                "DeleteCommissionPlan", "commission_plan", CommissionPlan, deleted=True
            ),
            field="commission_plan",
            service=service.delete_commission_plan,
            build=CommissionPlan.from_model,
            deleted=True,
            description="Delete a commission plan that is not the default, that no "
            "salesperson is on and that no pay was computed under (CONFLICT otherwise).",
        ),
        "set_engagement_credits": mutation(
            input_type=SetEngagementCreditsInput,
            payload=SetEngagementCreditsPayload,
            service=service.set_engagement_credits,
            values=_credits_values,
            answer=_credits,
            description="Replace who is credited with an engagement's sale.",
        ),
        "assign_commission_plan": mutation(
            input_type=AssignCommissionPlanInput,
            payload=AssignCommissionPlanPayload,
            service=service.assign_commission_plan,
            answer=_assigned,
            description="Put a salesperson on a commission plan.",
        ),
        "reprice_engagement": mutation(
            input_type=RepriceEngagementInput,
            payload=RepriceEngagementPayload,
            service=sales.reprice_engagement,
            answer=_repriced,
            description="Pay a sale under the plan versions in force now and today's facts, on "
            "purpose and with a reason; the difference is written as new entries.",
        ),
        "close_compensation_period": mutation(
            input_type=CloseCompensationPeriodInput,
            payload=payload_type(
                "CloseCompensationPeriod", "compensation_period", CompensationPeriod
            ),
            field="compensation_period",
            service=periods.close_compensation_period,
            build=CompensationPeriod.from_model,
            description="Close a month of the ledger: its statements and CSV never change "
            "again, and later corrections land in the first open month.",
        ),
    },
)
