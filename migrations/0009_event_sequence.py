from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields
from tortoise.migrations.constraints import UniqueConstraint
import json


async def number_existing_events(apps, schema_editor):
    """Give the events written before sequences existed theirs: per engagement, 1, 2, 3...
    in the order they were written (by id), in the column and in the body subscribers get,
    so that a retry of an old delivery carries it too and the next event follows on.
    Events about no engagement get a null sequence in their body, as new ones do."""
    client = schema_editor.client
    rows = await client.execute_query_dict("SELECT id, engagement_id, body FROM event ORDER BY id")
    placeholder = "$1" if client.capabilities.dialect == "postgres" else "?"
    last = {}
    for row in rows:
        sequence = None
        if row["engagement_id"] is not None:
            sequence = last[row["engagement_id"]] = last.get(row["engagement_id"], 0) + 1
        old = json.loads(row["body"])
        body = {key: old[key] for key in ("id", "type", "occurred_at")}
        body["sequence"] = sequence
        body.update((key, value) for key, value in old.items() if key not in body)
        await client.execute_query(
            f"UPDATE event SET sequence = {'NULL' if sequence is None else sequence}, "
            f"body = {placeholder} WHERE id = {row['id']}",
            [json.dumps(body, separators=(",", ":"))],
        )


class Migration(migrations.Migration):
    dependencies = [('fourway', '0008_audit_log')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Event',
            name='sequence',
            field=fields.IntField(null=True),
        ),
        ops.RunPython(number_existing_events, ops.RunPython.noop),
        ops.AddConstraint(
            model_name='Event',
            constraint=UniqueConstraint(fields=('engagement_id', 'sequence'), name=None),
        ),
    ]
