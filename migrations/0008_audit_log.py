from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from models.base import Moment
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('fourway', '0007_api_keys')]

    initial = False

    operations = [
        ops.CreateModel(
            name='AuditEntry',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('at', Moment(db_index=True, auto_now=False, auto_now_add=False)),
                ('action', fields.CharField(db_index=True, max_length=64)),
                ('target_type', fields.CharField(max_length=40)),
                ('target_id', fields.IntField()),
                ('engagement_id', fields.IntField(null=True, db_index=True)),
                ('actor_kind', fields.CharField(max_length=16)),
                ('actor_key_id', fields.IntField(null=True, db_index=True)),
                ('actor_key_prefix', fields.CharField(null=True, max_length=16)),
                ('actor_person_id', fields.IntField(null=True, db_index=True)),
                ('before', fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('after', fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('changed_fields', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
            ],
            options={'table': 'audit_entry', 'app': 'fourway', 'indexes': [Index(fields=['target_type', 'target_id'])], 'pk_attr': 'id', 'table_description': 'One change made through the service, with who made it and the object before and after.'},
            bases=['Model'],
        ),
    ]
