from decimal import Decimal
from typing import TYPE_CHECKING, Any

from tortoise import fields

from models.base import Timestamped, moment, money
from models.enums import SignalKind

if TYPE_CHECKING:
    from models.engagement import Engagement
    from models.person import Person


def _fraction(**kwargs: Any) -> Any:
    return fields.DecimalField(max_digits=9, decimal_places=4, **kwargs)


class CommissionPlan(Timestamped):
    """How a salesperson is paid: a share of margin above a floor, and what holds pay."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=200, unique=True)
    rate_on_margin = _fraction()
    margin_floor_pct = _fraction()
    hold_rules: fields.JSONField[list[str]] = fields.JSONField(default=list)
    hold_severities: fields.JSONField[list[str]] = fields.JSONField(default=list)
    reducing_attributions: fields.JSONField[list[str]] = fields.JSONField(default=list)
    clawback_window_days = fields.IntField(default=365)
    is_default = fields.BooleanField(default=False, db_index=True)

    class Meta:
        table = "commission_plan"


class CommissionPlanVersion(Timestamped):
    """One version of the terms of a plan, in force from its date until the next version.
    A sale is paid under the version in force when it was signed."""

    id = fields.IntField(primary_key=True)
    plan: fields.ForeignKeyRelation[CommissionPlan] = fields.ForeignKeyField(
        "fourway.CommissionPlan", related_name="versions", on_delete=fields.CASCADE
    )
    plan_id: int
    version = fields.IntField()
    effective_from = moment()
    rate_on_margin = _fraction()
    margin_floor_pct = _fraction()
    hold_rules: fields.JSONField[list[str]] = fields.JSONField(default=list)
    hold_severities: fields.JSONField[list[str]] = fields.JSONField(default=list)
    reducing_attributions: fields.JSONField[list[str]] = fields.JSONField(default=list)
    clawback_window_days = fields.IntField(default=365)

    class Meta:
        table = "commission_plan_version"
        unique_together = (("plan", "version"),)
        indexes = (("plan_id", "effective_from"),)


class PlanAssignment(Timestamped):
    """The plan one salesperson is on (the default plan otherwise)."""

    id = fields.IntField(primary_key=True)
    person: fields.OneToOneRelation["Person"] = fields.OneToOneField(
        "fourway.Person", related_name="plan_assignment", on_delete=fields.CASCADE
    )
    person_id: int
    plan: fields.ForeignKeyRelation[CommissionPlan] = fields.ForeignKeyField(
        "fourway.CommissionPlan", related_name="assignments", on_delete=fields.RESTRICT
    )
    plan_id: int

    class Meta:
        table = "plan_assignment"


class Credit(Timestamped):
    """A salesperson share of an engagement sale. The shares of an engagement sum to one."""

    id = fields.IntField(primary_key=True)
    engagement: fields.ForeignKeyRelation["Engagement"] = fields.ForeignKeyField(
        "fourway.Engagement", related_name="credits", on_delete=fields.CASCADE
    )
    engagement_id: int
    person: fields.ForeignKeyRelation["Person"] = fields.ForeignKeyField(
        "fourway.Person", related_name="credits", on_delete=fields.RESTRICT
    )
    person_id: int
    split_pct = _fraction(default=Decimal(1))

    class Meta:
        table = "credit"
        unique_together = (("engagement", "person"),)


class Sale(Timestamped):
    """What fixes the pay of a sale: when it was last priced on purpose (re-priced under
    the plan versions then in force), and when it completed, with the figures fixed then."""

    id = fields.IntField(primary_key=True)
    engagement: fields.OneToOneRelation["Engagement"] = fields.OneToOneField(
        "fourway.Engagement", related_name="sale", on_delete=fields.CASCADE
    )
    engagement_id: int
    priced_at = moment(null=True)
    completed_at = moment(null=True)
    realized_revenue = money(null=True)
    expected_cost = money(null=True)
    variances: fields.JSONField[list[dict[str, str]]] = fields.JSONField(default=list)

    class Meta:
        table = "sale"


class CompensationPeriod(Timestamped):
    """A month of the ledger that finance closed: nothing is ever written into it again."""

    id = fields.IntField(primary_key=True)
    period = fields.CharField(max_length=7, unique=True)
    closed_at = moment()

    class Meta:
        table = "compensation_period"


class CompensationSignal(Timestamped):
    """A change in the pay of a salesperson (BOOKED, ADJUSTED) or in what is held of it
    (HELD, RELEASED). Append-only: a correction is a new entry for the difference."""

    id = fields.IntField(primary_key=True)
    kind = fields.CharEnumField(SignalKind, max_length=16)
    engagement: fields.ForeignKeyRelation["Engagement"] = fields.ForeignKeyField(
        "fourway.Engagement", related_name="signals", on_delete=fields.RESTRICT
    )
    engagement_id: int
    salesperson: fields.ForeignKeyRelation["Person"] = fields.ForeignKeyField(
        "fourway.Person", related_name="signals", on_delete=fields.RESTRICT
    )
    salesperson_id: int
    period = fields.CharField(max_length=7)
    currency = fields.CharField(max_length=3)
    revenue = money()
    cost = money()
    margin = money()
    margin_pct = _fraction(null=True)
    rate = _fraction()
    split = _fraction()
    amount = money()
    reason = fields.TextField()
    attribution: fields.JSONField[list[dict[str, str]]] = fields.JSONField(default=list)
    evidence: fields.JSONField[list[int]] = fields.JSONField(default=list)
    supersedes: fields.ForeignKeyNullableRelation["CompensationSignal"] = fields.ForeignKeyField(
        "fourway.CompensationSignal",
        related_name="superseded_by",
        null=True,
        # NO ACTION, not RESTRICT: checked at the end of a statement, so a whole ledger can
        # be deleted at once (RESTRICT refuses mid-statement on SQLite).
        on_delete=fields.NO_ACTION,
    )
    supersedes_id: int | None
    plan: fields.ForeignKeyNullableRelation[CommissionPlan] = fields.ForeignKeyField(
        "fourway.CommissionPlan",
        related_name="signals",
        null=True,  # signals made before plans were recorded on them
        # What the ledger was paid under stays: such a plan cannot be deleted.
        on_delete=fields.RESTRICT,
    )
    plan_id: int | None
    plan_version: fields.ForeignKeyNullableRelation[CommissionPlanVersion] = fields.ForeignKeyField(
        "fourway.CommissionPlanVersion",
        related_name="signals",
        null=True,  # entries made before plans had versions
        on_delete=fields.RESTRICT,
    )
    plan_version_id: int | None
    idempotency_key = fields.CharField(max_length=128, unique=True)

    class Meta:
        table = "compensation_signal"
        # The ledger of an engagement and salesperson, and a salesperson's period statement.
        indexes = (
            ("engagement_id", "salesperson_id", "kind"),
            ("salesperson_id", "period"),
            ("period",),
        )
