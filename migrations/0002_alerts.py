from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from models.base import Moment
from models.enums import AlertStatus, Severity
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('fourway', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Alert',
            fields=[
                ('created_at', Moment(auto_now=False, auto_now_add=True)),
                ('updated_at', Moment(auto_now=True, auto_now_add=False)),
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('engagement', fields.ForeignKeyField('fourway.Engagement', source_field='engagement_id', db_constraint=True, to_field='id', related_name='alerts', on_delete=OnDelete.CASCADE)),
                ('rule_id', fields.CharField(max_length=64)),
                ('severity', fields.CharEnumField(description='INFO: INFO\nWARNING: WARNING\nCRITICAL: CRITICAL', enum_type=Severity, max_length=16)),
                ('item', fields.CharField(null=True, max_length=64)),
                ('message', fields.TextField(unique=False)),
                ('facts', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('fingerprint', fields.CharField(max_length=255)),
                ('facts_hash', fields.CharField(max_length=64)),
                ('status', fields.CharEnumField(default=AlertStatus.OPEN, description='OPEN: OPEN\nACKNOWLEDGED: ACKNOWLEDGED\nRESOLVED: RESOLVED\nWAIVED: WAIVED', enum_type=AlertStatus, max_length=16)),
                ('opened_at', Moment(auto_now=False, auto_now_add=False)),
                ('acknowledged_at', Moment(null=True, auto_now=False, auto_now_add=False)),
                ('acknowledged_by', fields.ForeignKeyField('fourway.Person', source_field='acknowledged_by_id', null=True, db_constraint=True, to_field='id', related_name='alerts_acknowledged', on_delete=OnDelete.SET_NULL)),
                ('comment', fields.TextField(null=True, unique=False)),
                ('resolved_at', Moment(null=True, auto_now=False, auto_now_add=False)),
                ('resolution', fields.TextField(null=True, unique=False)),
                ('waived_at', Moment(null=True, auto_now=False, auto_now_add=False)),
                ('waived_by', fields.ForeignKeyField('fourway.Person', source_field='waived_by_id', null=True, db_constraint=True, to_field='id', related_name='alerts_waived', on_delete=OnDelete.SET_NULL)),
                ('waiver_reason', fields.TextField(null=True, unique=False)),
            ],
            options={'table': 'alert', 'app': 'fourway', 'indexes': [Index(fields=['engagement_id', 'status']), Index(fields=['fingerprint']), Index(fields=['status', 'opened_at'])], 'pk_attr': 'id', 'table_description': 'A finding of the rules, kept open while its facts hold.'},
            bases=['Timestamped'],
        ),
        ops.AddField(
            model_name='Engagement',
            name='evaluated_at',
            field=Moment(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Engagement',
            name='evaluation_error',
            field=fields.TextField(null=True, unique=False),
        ),
    ]
