from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from models.base import Moment
from models.enums import EngagementFunction
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

# Who decided what on an engagement, the function each decision was taken in (also in the
# audit trail), and an engagement's own answer to which functions it needs.


class AddEmptyJsonObject(ops.AddField):
    """AddField for a NOT NULL JSON column on a table that may already hold rows: each gets
    an empty object. (A plain AddField gives the column no database default, which SQLite
    refuses on a table with rows.) On PostgreSQL the default is dropped again, so the
    column is exactly what the models describe."""

    async def database_forward(self, app_label, old_state, new_state, state_editor=None):
        if not state_editor:
            return
        client = state_editor.client
        postgres = client.capabilities.dialect == "postgres"
        table = new_state.apps.get_model(f"{app_label}.{self.model_name}")._meta.db_table
        kind = "JSONB" if postgres else "JSON"
        await client.execute_script(
            f'ALTER TABLE "{table}" ADD COLUMN "{self.name}" {kind} NOT NULL DEFAULT \'{{}}\''
        )
        if postgres:
            await client.execute_script(
                f'ALTER TABLE "{table}" ALTER COLUMN "{self.name}" DROP DEFAULT'
            )

class Migration(migrations.Migration):
    dependencies = [('fourway', '0012_deal_approval')]

    initial = False

    operations = [
        ops.CreateModel(
            name='DecisionTaken',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('engagement', fields.ForeignKeyField('fourway.Engagement', source_field='engagement_id', db_constraint=True, to_field='id', related_name='decisions_taken', on_delete=OnDelete.CASCADE)),
                ('decision', fields.CharField(max_length=40)),
                ('subject_type', fields.CharField(max_length=40)),
                ('subject_id', fields.IntField()),
                ('person_id', fields.IntField(null=True)),
                ('function', fields.CharEnumField(null=True, description='SALES: SALES\nENGAGEMENT_MANAGEMENT: ENGAGEMENT_MANAGEMENT\nPROJECT_MANAGEMENT: PROJECT_MANAGEMENT\nDELIVERY: DELIVERY\nFUNCTIONAL_MANAGEMENT: FUNCTIONAL_MANAGEMENT\nPROCUREMENT: PROCUREMENT\nLEGAL: LEGAL\nQUALITY: QUALITY\nCUSTOMER_SERVICE: CUSTOMER_SERVICE\nFINANCE: FINANCE\nSPONSOR: SPONSOR', enum_type=EngagementFunction, max_length=32)),
                ('key_id', fields.IntField(null=True)),
                ('key_prefix', fields.CharField(null=True, max_length=16)),
                ('outside', fields.BooleanField(default=False)),
                ('taken_at', Moment(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'decision_taken', 'app': 'fourway', 'indexes': [Index(fields=['engagement_id', 'subject_type', 'subject_id'])], 'pk_attr': 'id', 'table_description': 'One decision taken on an engagement (a deal approval, a delivery sign-off, an'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='AuditEntry',
            name='actor_function',
            field=fields.CharField(null=True, max_length=32),
        ),
        ops.AddField(
            model_name='AuditEntry',
            name='decision',
            field=fields.CharField(null=True, max_length=40),
        ),
        AddEmptyJsonObject(
            model_name='Engagement',
            name='required_functions',
            field=fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads),
        ),
    ]
