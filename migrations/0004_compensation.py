from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from decimal import Decimal
from json import dumps, loads
from models.base import Moment
from models.enums import SignalKind
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('fourway', '0003_engagement_thresholds')]

    initial = False

    operations = [
        ops.CreateModel(
            name='CommissionPlan',
            fields=[
                ('created_at', Moment(auto_now=False, auto_now_add=True)),
                ('updated_at', Moment(auto_now=True, auto_now_add=False)),
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(unique=True, max_length=200)),
                ('rate_on_margin', fields.DecimalField(max_digits=9, decimal_places=4)),
                ('margin_floor_pct', fields.DecimalField(max_digits=9, decimal_places=4)),
                ('hold_rules', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('hold_severities', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('reducing_attributions', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('clawback_window_days', fields.IntField(default=365)),
                ('is_default', fields.BooleanField(default=False, db_index=True)),
            ],
            options={'table': 'commission_plan', 'app': 'fourway', 'pk_attr': 'id', 'table_description': 'How a salesperson is paid: a share of margin above a floor, and what holds pay.'},
            bases=['Timestamped'],
        ),
        ops.CreateModel(
            name='CompensationSignal',
            fields=[
                ('created_at', Moment(auto_now=False, auto_now_add=True)),
                ('updated_at', Moment(auto_now=True, auto_now_add=False)),
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('kind', fields.CharEnumField(description='BOOKED: BOOKED\nHELD: HELD\nRELEASED: RELEASED\nADJUSTED: ADJUSTED', enum_type=SignalKind, max_length=16)),
                ('engagement', fields.ForeignKeyField('fourway.Engagement', source_field='engagement_id', db_constraint=True, to_field='id', related_name='signals', on_delete=OnDelete.RESTRICT)),
                ('salesperson', fields.ForeignKeyField('fourway.Person', source_field='salesperson_id', db_constraint=True, to_field='id', related_name='signals', on_delete=OnDelete.RESTRICT)),
                ('period', fields.CharField(max_length=7)),
                ('currency', fields.CharField(max_length=3)),
                ('revenue', fields.DecimalField(max_digits=18, decimal_places=4)),
                ('cost', fields.DecimalField(max_digits=18, decimal_places=4)),
                ('margin', fields.DecimalField(max_digits=18, decimal_places=4)),
                ('margin_pct', fields.DecimalField(null=True, max_digits=9, decimal_places=4)),
                ('rate', fields.DecimalField(max_digits=9, decimal_places=4)),
                ('split', fields.DecimalField(max_digits=9, decimal_places=4)),
                ('amount', fields.DecimalField(max_digits=18, decimal_places=4)),
                ('reason', fields.TextField(unique=False)),
                ('attribution', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('evidence', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('supersedes', fields.ForeignKeyField('fourway.CompensationSignal', source_field='supersedes_id', null=True, db_constraint=True, to_field='id', related_name='superseded_by', on_delete=OnDelete.NO_ACTION)),
                ('idempotency_key', fields.CharField(unique=True, max_length=128)),
            ],
            options={'table': 'compensation_signal', 'app': 'fourway', 'indexes': [Index(fields=['engagement_id', 'salesperson_id', 'kind']), Index(fields=['salesperson_id', 'period']), Index(fields=['period'])], 'pk_attr': 'id', 'table_description': 'A fact finance computes pay from. Append-only: a correction supersedes, never edits.'},
            bases=['Timestamped'],
        ),
        ops.CreateModel(
            name='Credit',
            fields=[
                ('created_at', Moment(auto_now=False, auto_now_add=True)),
                ('updated_at', Moment(auto_now=True, auto_now_add=False)),
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('engagement', fields.ForeignKeyField('fourway.Engagement', source_field='engagement_id', db_constraint=True, to_field='id', related_name='credits', on_delete=OnDelete.CASCADE)),
                ('person', fields.ForeignKeyField('fourway.Person', source_field='person_id', db_constraint=True, to_field='id', related_name='credits', on_delete=OnDelete.RESTRICT)),
                ('split_pct', fields.DecimalField(default=Decimal('1'), max_digits=9, decimal_places=4)),
            ],
            options={'table': 'credit', 'app': 'fourway', 'unique_together': (('engagement', 'person'),), 'pk_attr': 'id', 'table_description': 'A salesperson share of an engagement sale. The shares of an engagement sum to one.'},
            bases=['Timestamped'],
        ),
        ops.CreateModel(
            name='PlanAssignment',
            fields=[
                ('created_at', Moment(auto_now=False, auto_now_add=True)),
                ('updated_at', Moment(auto_now=True, auto_now_add=False)),
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('person', fields.OneToOneField('fourway.Person', source_field='person_id', db_constraint=True, to_field='id', related_name='plan_assignment', on_delete=OnDelete.CASCADE)),
                ('plan', fields.ForeignKeyField('fourway.CommissionPlan', source_field='plan_id', db_constraint=True, to_field='id', related_name='assignments', on_delete=OnDelete.RESTRICT)),
            ],
            options={'table': 'plan_assignment', 'app': 'fourway', 'pk_attr': 'id', 'table_description': 'The plan one salesperson is on (the default plan otherwise).'},
            bases=['Timestamped'],
        ),
    ]
