from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('fourway', '0001_initial')]

    initial = False

    operations = [
        ops.AddIndex(
            model_name='ChangeOrder',
            index=Index(fields=['item']),
        ),
        ops.AddIndex(
            model_name='Deliverable',
            index=Index(fields=['item']),
        ),
        ops.AddIndex(
            model_name='Engagement',
            index=Index(fields=['client_id']),
        ),
        ops.AddIndex(
            model_name='Need',
            index=Index(fields=['item']),
        ),
        ops.AddIndex(
            model_name='Person',
            index=Index(fields=['organization_id']),
        ),
        ops.AddIndex(
            model_name='Promise',
            index=Index(fields=['item']),
        ),
        ops.AddIndex(
            model_name='Promise',
            index=Index(fields=['made_by_id']),
        ),
        ops.AddIndex(
            model_name='Purchase',
            index=Index(fields=['item']),
        ),
    ]
