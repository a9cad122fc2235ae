"""Commission plans, plan assignments, and who is credited with a sale."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import strawberry

from api.context import Info
from api.errors import UserError, user_errors
from api.inputs import decode_id, to_values
from api.mutations import mutation, mutation_type, payload_type, update_input
from api.people import Person, person_or_none
from api.relay import Node, to_global_id
from api.scalars import BadScalar
from models import CommissionPlan as CommissionPlanModel
from models import Credit as CreditModel
from models import PlanAssignment as PlanAssignmentModel
from models.enums import Severity
from services import commission_plans as service
from services.errors import DomainError, FieldError, Invalid


@strawberry.type(description="How salespeople on it are paid: a share of margin above a floor.")
class CommissionPlan(Node):
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

    @classmethod
    def from_model(cls, row: CommissionPlanModel) -> CommissionPlan:
        return cls(
            id=strawberry.ID(to_global_id("CommissionPlan", row.pk)),
            name=row.name,
            rate_on_margin=row.rate_on_margin,
            margin_floor_pct=row.margin_floor_pct,
            hold_rules=list(row.hold_rules),
            hold_severities=[Severity(s) for s in row.hold_severities],
            reducing_attributions=list(row.reducing_attributions),
            clawback_window_days=row.clawback_window_days,
            is_default=row.is_default,
        )


@strawberry.type(description="A salesperson's share of an engagement's sale.")
class Credit:
    split_pct: Decimal = strawberry.field(description='The share, as a fraction ("0.5" is 50%).')
    person_pk: strawberry.Private[int]

    @strawberry.field
    async def salesperson(self, info: Info) -> Person:
        person = await person_or_none(info, self.person_pk)
        assert person is not None  # the foreign key guarantees it
        return person

    @classmethod
    def from_model(cls, row: CreditModel) -> Credit:
        return cls(split_pct=row.split_pct, person_pk=row.person_id)


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
        default=strawberry.UNSET, description="The plan of everyone without one of their own."
    )


@strawberry.input(description="Put a salesperson on a plan.")
class AssignCommissionPlanInput:
    person_id: strawberry.ID
    plan_id: strawberry.ID


@strawberry.input(description="One salesperson's share of a sale.")
class CreditInput:
    person_id: strawberry.ID
    split_pct: Decimal


@strawberry.input(description="Who is credited with an engagement's sale; splits sum to 1.")
class SetEngagementCreditsInput:
    engagement_id: strawberry.ID
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


@strawberry.type
class CompensationQuery:
    @strawberry.field(description="Every commission plan, the default first.")
    async def commission_plans(self) -> list[CommissionPlan]:
        rows = await CommissionPlanModel.all().order_by("-is_default", "id")
        return [CommissionPlan.from_model(r) for r in rows]


@strawberry.type
class CreditsMutation:
    @strawberry.mutation(description="Replace who is credited with an engagement's sale.")
    async def set_engagement_credits(
        self, input: SetEngagementCreditsInput
    ) -> SetEngagementCreditsPayload:
        try:
            engagement_id = to_values(input)["engagement_id"]
            result = await service.set_engagement_credits(
                engagement_id=engagement_id, credits=_credit_values(input.credits)
            )
        except DomainError as error:
            return SetEngagementCreditsPayload(user_errors=user_errors(error))
        return SetEngagementCreditsPayload(credits=[Credit.from_model(c) for c in result.credits])

    @strawberry.mutation(description="Put a salesperson on a commission plan.")
    async def assign_commission_plan(
        self, input: AssignCommissionPlanInput
    ) -> AssignCommissionPlanPayload:
        try:
            row = await service.assign_commission_plan(**to_values(input))
        except DomainError as error:
            return AssignCommissionPlanPayload(user_errors=user_errors(error))
        return AssignCommissionPlanPayload(assignment=await _assignment(row))


@strawberry.type
class AssignCommissionPlanPayload:
    assignment: PlanAssignment | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


PlanMutation = mutation_type(
    "PlanMutation",
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
                description="Changes to a commission plan.",
            ),
            payload=payload_type("UpdateCommissionPlan", "commission_plan", CommissionPlan),
            field="commission_plan",
            service=service.update_commission_plan,
            build=CommissionPlan.from_model,
            id_type="CommissionPlan",
            description="Change a commission plan: fields left out keep their values.",
        ),
    },
)
