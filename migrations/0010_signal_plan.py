from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('fourway', '0009_event_sequence')]

    initial = False

    operations = [
        ops.AddField(
            model_name='CompensationSignal',
            name='plan',
            field=fields.ForeignKeyField('fourway.CommissionPlan', source_field='plan_id', null=True, db_constraint=True, to_field='id', related_name='signals', on_delete=OnDelete.RESTRICT),
        ),
    ]
