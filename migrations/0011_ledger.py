from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from models.base import Moment
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

# Before this migration an entry carried the whole figure and replaced the one before it
# of its kind: BOOKED the booking, ADJUSTED realized less booked, HELD the amount at risk,
# RELEASED the amount freed. From it on every entry is a change: the sum of a person's
# BOOKED and ADJUSTED entries is what the sale pays them, and HELD less RELEASED is what
# is still held. Plans gain versions; the terms a plan has now become its first version,
# in force since the epoch, so every existing sale keeps the terms it was paid under.


async def plans_to_versions(apps, schema_editor):
    client = schema_editor.client
    postgres = client.capabilities.dialect == "postgres"
    epoch = "TIMESTAMPTZ '1970-01-01 00:00:00+00'" if postgres else "'1970-01-01T00:00:00+00:00'"
    await client.execute_query(
        "INSERT INTO commission_plan_version (plan_id, version, effective_from, "
        "rate_on_margin, margin_floor_pct, hold_rules, hold_severities, "
        "reducing_attributions, clawback_window_days, created_at, updated_at) "
        f"SELECT id, 1, {epoch}, rate_on_margin, margin_floor_pct, hold_rules, "
        "hold_severities, reducing_attributions, clawback_window_days, created_at, "
        "updated_at FROM commission_plan"
    )
    await client.execute_query(
        "UPDATE compensation_signal SET plan_version_id = (SELECT v.id FROM "
        "commission_plan_version v WHERE v.plan_id = compensation_signal.plan_id) "
        "WHERE plan_id IS NOT NULL"
    )


async def entries_to_changes(apps, schema_editor):
    client = schema_editor.client
    postgres = client.capabilities.dialect == "postgres"
    mark = "$1" if postgres else "?"
    rows = await client.execute_query_dict(
        "SELECT id, engagement_id, salesperson_id, kind, amount FROM compensation_signal "
        "ORDER BY id"
    )
    state = {}  # (engagement, person) -> [booked, adjusted, held]
    for row in rows:
        figures = state.setdefault((row["engagement_id"], row["salesperson_id"]), [0, 0, 0])
        amount = _decimal(row["amount"])
        if row["kind"] == "BOOKED":
            change, figures[0] = amount - figures[0], amount
        elif row["kind"] == "ADJUSTED":
            change, figures[1] = amount - figures[1], amount
        elif row["kind"] == "HELD":
            change, figures[2] = amount - figures[2], amount
        else:  # RELEASED: what was still held is freed
            change, figures[2] = figures[2], 0
        if change != amount:
            await client.execute_query(
                f"UPDATE compensation_signal SET amount = {mark} WHERE id = {row['id']}",
                [change if postgres else str(change)],
            )


def _decimal(value):
    from decimal import Decimal

    return Decimal(str(value))


class Migration(migrations.Migration):
    dependencies = [('fourway', '0010_signal_plan')]

    initial = False

    operations = [
        ops.CreateModel(
            name='CommissionPlanVersion',
            fields=[
                ('created_at', Moment(auto_now=False, auto_now_add=True)),
                ('updated_at', Moment(auto_now=True, auto_now_add=False)),
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('plan', fields.ForeignKeyField('fourway.CommissionPlan', source_field='plan_id', db_constraint=True, to_field='id', related_name='versions', on_delete=OnDelete.CASCADE)),
                ('version', fields.IntField()),
                ('effective_from', Moment(auto_now=False, auto_now_add=False)),
                ('rate_on_margin', fields.DecimalField(max_digits=9, decimal_places=4)),
                ('margin_floor_pct', fields.DecimalField(max_digits=9, decimal_places=4)),
                ('hold_rules', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('hold_severities', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('reducing_attributions', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('clawback_window_days', fields.IntField(default=365)),
            ],
            options={'table': 'commission_plan_version', 'app': 'fourway', 'unique_together': (('plan', 'version'),), 'indexes': [Index(fields=['plan_id', 'effective_from'])], 'pk_attr': 'id', 'table_description': 'One version of the terms of a plan, in force from its date until the next version.'},
            bases=['Timestamped'],
        ),
        ops.CreateModel(
            name='CompensationPeriod',
            fields=[
                ('created_at', Moment(auto_now=False, auto_now_add=True)),
                ('updated_at', Moment(auto_now=True, auto_now_add=False)),
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('period', fields.CharField(unique=True, max_length=7)),
                ('closed_at', Moment(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'compensation_period', 'app': 'fourway', 'pk_attr': 'id', 'table_description': 'A month of the ledger that finance closed: nothing is ever written into it again.'},
            bases=['Timestamped'],
        ),
        ops.CreateModel(
            name='Sale',
            fields=[
                ('created_at', Moment(auto_now=False, auto_now_add=True)),
                ('updated_at', Moment(auto_now=True, auto_now_add=False)),
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('engagement', fields.OneToOneField('fourway.Engagement', source_field='engagement_id', db_constraint=True, to_field='id', related_name='sale', on_delete=OnDelete.CASCADE)),
                ('priced_at', Moment(null=True, auto_now=False, auto_now_add=False)),
                ('completed_at', Moment(null=True, auto_now=False, auto_now_add=False)),
                ('realized_revenue', fields.DecimalField(null=True, max_digits=18, decimal_places=4)),
                ('expected_cost', fields.DecimalField(null=True, max_digits=18, decimal_places=4)),
                ('variances', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
            ],
            options={'table': 'sale', 'app': 'fourway', 'pk_attr': 'id', 'table_description': 'What fixes the pay of a sale: when it was last priced on purpose (re-priced under'},
            bases=['Timestamped'],
        ),
        ops.AlterModelOptions(
            name='CompensationSignal',
            options={'table': 'compensation_signal', 'app': 'fourway', 'indexes': [Index(fields=['engagement_id', 'salesperson_id', 'kind']), Index(fields=['salesperson_id', 'period']), Index(fields=['period'])], 'pk_attr': 'id', 'table_description': 'A change in the pay of a salesperson (BOOKED, ADJUSTED) or in what is held of it'},
        ),
        ops.AddField(
            model_name='CompensationSignal',
            name='plan_version',
            field=fields.ForeignKeyField('fourway.CommissionPlanVersion', source_field='plan_version_id', null=True, db_constraint=True, to_field='id', related_name='signals', on_delete=OnDelete.RESTRICT),
        ),
        ops.RunPython(plans_to_versions, ops.RunPython.noop),
        ops.RunPython(entries_to_changes, ops.RunPython.noop),
    ]

