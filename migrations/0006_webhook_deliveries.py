from tortoise import migrations
from tortoise.migrations import operations as ops
from models.base import Moment
from models.enums import DeliveryStatus
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('fourway', '0005_webhook_endpoints')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Event',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('uid', fields.CharField(unique=True, max_length=40)),
                ('type', fields.CharField(db_index=True, max_length=64)),
                ('occurred_at', Moment(auto_now=False, auto_now_add=False)),
                ('engagement_id', fields.IntField(null=True, db_index=True)),
                ('body', fields.TextField(unique=False)),
            ],
            options={'table': 'event', 'app': 'fourway', 'pk_attr': 'id', 'table_description': 'The outbox: one row per change of state, written in the transaction of the change.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='WebhookDelivery',
            fields=[
                ('created_at', Moment(auto_now=False, auto_now_add=True)),
                ('updated_at', Moment(auto_now=True, auto_now_add=False)),
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('event', fields.ForeignKeyField('fourway.Event', source_field='event_id', db_constraint=True, to_field='id', related_name='deliveries', on_delete=OnDelete.CASCADE)),
                ('endpoint', fields.ForeignKeyField('fourway.WebhookEndpoint', source_field='endpoint_id', db_constraint=True, to_field='id', related_name='deliveries', on_delete=OnDelete.CASCADE)),
                ('status', fields.CharEnumField(default=DeliveryStatus.PENDING, description='PENDING: PENDING\nDELIVERED: DELIVERED\nFAILED: FAILED', enum_type=DeliveryStatus, max_length=16)),
                ('next_attempt_at', Moment(null=True, auto_now=False, auto_now_add=False)),
                ('locked_until', Moment(null=True, auto_now=False, auto_now_add=False)),
                ('attempt_count', fields.IntField(default=0)),
                ('delivered_at', Moment(null=True, auto_now=False, auto_now_add=False)),
                ('redelivery', fields.BooleanField(default=False)),
            ],
            options={'table': 'webhook_delivery', 'app': 'fourway', 'indexes': [Index(fields=['status', 'next_attempt_at']), Index(fields=['endpoint_id']), Index(fields=['event_id'])], 'pk_attr': 'id', 'table_description': 'One event owed to one endpoint, until it is delivered or its retries run out.'},
            bases=['Timestamped'],
        ),
        ops.CreateModel(
            name='DeliveryAttempt',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('delivery', fields.ForeignKeyField('fourway.WebhookDelivery', source_field='delivery_id', db_constraint=True, to_field='id', related_name='attempts', on_delete=OnDelete.CASCADE)),
                ('at', Moment(auto_now=False, auto_now_add=False)),
                ('status_code', fields.IntField(null=True)),
                ('duration_ms', fields.IntField()),
                ('response_excerpt', fields.TextField(null=True, unique=False)),
                ('error', fields.TextField(null=True, unique=False)),
                ('retry_at', Moment(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'delivery_attempt', 'app': 'fourway', 'indexes': [Index(fields=['delivery_id'])], 'pk_attr': 'id', 'table_description': 'One POST of a delivery and what came of it.'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='WebhookEndpoint',
            name='failing_since',
            field=Moment(null=True, auto_now=False, auto_now_add=False),
        ),
    ]
