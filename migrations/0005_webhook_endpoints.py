from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from models.base import Moment
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('fourway', '0004_compensation')]

    initial = False

    operations = [
        ops.CreateModel(
            name='WebhookEndpoint',
            fields=[
                ('created_at', Moment(auto_now=False, auto_now_add=True)),
                ('updated_at', Moment(auto_now=True, auto_now_add=False)),
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('url', fields.CharField(max_length=2000)),
                ('event_types', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('description', fields.TextField(null=True, unique=False)),
                ('active', fields.BooleanField(default=True)),
                ('secret', fields.CharField(max_length=200)),
                ('previous_secret', fields.CharField(null=True, max_length=200)),
                ('previous_secret_expires_at', Moment(null=True, auto_now=False, auto_now_add=False)),
                ('disabled_reason', fields.TextField(null=True, unique=False)),
            ],
            options={'table': 'webhook_endpoint', 'app': 'fourway', 'pk_attr': 'id', 'table_description': 'Where a subscriber receives signed events, and which ones.'},
            bases=['Timestamped'],
        ),
    ]
