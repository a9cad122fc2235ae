from tortoise import migrations
from tortoise.migrations import operations as ops
from models.base import Moment
from models.enums import Role
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('fourway', '0006_webhook_deliveries')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ApiKey',
            fields=[
                ('created_at', Moment(auto_now=False, auto_now_add=True)),
                ('updated_at', Moment(auto_now=True, auto_now_add=False)),
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(max_length=200)),
                ('prefix', fields.CharField(unique=True, max_length=16)),
                ('key_hash', fields.CharField(max_length=64)),
                ('role', fields.CharEnumField(description='ADMIN: ADMIN\nFINANCE: FINANCE\nSALES: SALES\nDELIVERY: DELIVERY\nVIEWER: VIEWER', enum_type=Role, max_length=16)),
                ('person', fields.ForeignKeyField('fourway.Person', source_field='person_id', null=True, db_constraint=True, to_field='id', related_name='api_keys', on_delete=OnDelete.RESTRICT)),
                ('expires_at', Moment(null=True, auto_now=False, auto_now_add=False)),
                ('revoked_at', Moment(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'api_key', 'app': 'fourway', 'pk_attr': 'id', 'table_description': 'A key that authenticates requests, with the role it acts in.'},
            bases=['Timestamped'],
        ),
    ]
