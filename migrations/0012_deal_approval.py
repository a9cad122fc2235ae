from tortoise import migrations
from tortoise.migrations import operations as ops
from models.base import Moment
from models.enums import EngagementFunction
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index


# Engagements sold before deals needed approving count as approved by the system, before
# approvals existed: an approval with no person and no key, stamped when the engagement
# last changed.
BEFORE_APPROVALS = "the system, before approvals existed"


async def approve_past_sales(apps, schema_editor):
    client = schema_editor.client
    postgres = client.capabilities.dialect == "postgres"
    mark = "$1" if postgres else "?"
    await client.execute_query(
        "INSERT INTO deal_approval (engagement_id, note, approved_at, created_at, updated_at) "
        f"SELECT id, {mark}, updated_at, updated_at, updated_at FROM engagement "
        "WHERE status IN ('SOLD', 'DELIVERING', 'SUPPORTING', 'CLOSED')",
        [BEFORE_APPROVALS],
    )


class Migration(migrations.Migration):
    dependencies = [('fourway', '0011_ledger')]

    initial = False

    operations = [
        ops.CreateModel(
            name='DealApproval',
            fields=[
                ('created_at', Moment(auto_now=False, auto_now_add=True)),
                ('updated_at', Moment(auto_now=True, auto_now_add=False)),
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('engagement', fields.ForeignKeyField('fourway.Engagement', source_field='engagement_id', db_constraint=True, to_field='id', related_name='deal_approvals', on_delete=OnDelete.CASCADE)),
                ('person', fields.ForeignKeyField('fourway.Person', source_field='person_id', null=True, db_constraint=True, to_field='id', related_name='deal_approvals', on_delete=OnDelete.RESTRICT)),
                ('function', fields.CharEnumField(null=True, description='SALES: SALES\nENGAGEMENT_MANAGEMENT: ENGAGEMENT_MANAGEMENT\nPROJECT_MANAGEMENT: PROJECT_MANAGEMENT\nDELIVERY: DELIVERY\nFUNCTIONAL_MANAGEMENT: FUNCTIONAL_MANAGEMENT\nPROCUREMENT: PROCUREMENT\nLEGAL: LEGAL\nQUALITY: QUALITY\nCUSTOMER_SERVICE: CUSTOMER_SERVICE\nFINANCE: FINANCE\nSPONSOR: SPONSOR', enum_type=EngagementFunction, max_length=32)),
                ('key_id', fields.IntField(null=True)),
                ('note', fields.TextField(null=True, unique=False)),
                ('approved_at', Moment(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'deal_approval', 'app': 'fourway', 'indexes': [Index(fields=['engagement_id'])], 'pk_attr': 'id', 'table_description': 'One approval of an engagement deal, by a person in a function, or by an admin key'},
            bases=['Timestamped'],
        ),
        ops.RunPython(approve_past_sales, ops.RunPython.noop),
    ]

