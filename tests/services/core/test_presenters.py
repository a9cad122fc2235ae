"""One presenter per type: every node of the demo portfolio reads the same from its
presenter as over GraphQL, the trail keeps what the type declares it keeps, and no
secret is shown anywhere."""

from __future__ import annotations

from tortoise.models import Model

from api.core.presented import FromRow
from api.core.relay import NODE_TYPES
from demo.portfolio import load_demo
from models import Engagement, WebhookEndpoint
from services.core import audit, presenters
from services.webhooks.endpoints import create_webhook_endpoint
from tests.api.compensation.test_signals import _sale


def _selection(row: Model) -> str:
    """The fields the presenter shows of ``row``, as a GraphQL selection."""
    fields = ["__typename", "id"]
    for column in presenters.columns(type(row)):
        if column.trail_only:
            continue
        plain = column.related is None or column.present is not None
        fields.append(column.camel if plain else f"{column.camel} {{ id }}")
    return " ".join(fields)


async def test_every_node_of_the_demo_reads_as_its_presenter_shows_it(client, loopback):
    # Every type: the demo's sides and parties, a sale's plan and ledger, a closed month,
    # and an endpoint owed the events.
    await create_webhook_endpoint(url="http://127.0.0.1:9/in", event_types=["compensation.*"])
    await load_demo()
    await _sale(client)
    closed = await client.mutate("closeCompensationPeriod", {"period": "2026-01"}, "")
    assert closed["userErrors"] == []
    # The trail's entries are the one type shown only over GraphQL, as the trail itself.
    presented_types = {
        n for n, t in NODE_TYPES.items() if isinstance(vars(t)["from_model"], FromRow)
    }
    assert set(NODE_TYPES) - presented_types == {"AuditEntry"}
    checked: dict[str, int] = {}
    for name in sorted(presented_types):
        node = NODE_TYPES[name]
        rows = await node.model.all().order_by("id").limit(3)
        for row in rows:
            presented = presenters.event_object(row)
            query = (
                f"query($id: ID!) {{ node(id: $id) {{ ... on {name} {{ {_selection(row)} }} }} }}"
            )
            shown = await client.data(query, {"id": presented["id"]})
            assert shown["node"] == presented, name
            checked[name] = checked.get(name, 0) + 1
    # Every type the API builds from its presenter had rows to compare.
    assert set(checked) == presented_types, presented_types - set(checked)


async def test_the_trail_keeps_the_columns_a_type_keeps_for_it_alone(database_url):
    await load_demo()
    engagement = await Engagement.all().order_by("id").first()
    assert engagement is not None
    engagement.thresholds = {"marginFloorPct": "0.25"}
    recorded = audit.snapshot(engagement)
    assert recorded["thresholds"] == {"marginFloorPct": "0.25"}
    assert "requiredFunctions" in recorded
    # Subscribers and GraphQL read the worked-out thresholds, not the stored overrides.
    assert "thresholds" not in presenters.event_object(engagement)
    # The trail has its own time: a row's bookkeeping times are not recorded as changes.
    assert "updatedAt" not in recorded and "updatedAt" in presenters.event_object(engagement)


async def test_no_secret_is_shown_to_subscribers_or_kept_in_the_trail(database_url, loopback):
    made = await create_webhook_endpoint(url="http://127.0.0.1:9/in", event_types=["alert.*"])
    endpoint = await WebhookEndpoint.get(id=made.endpoint.id)
    endpoint.previous_secret = "whsec_previous"
    for presented in (presenters.event_object(endpoint), audit.snapshot(endpoint)):
        text = repr(presented)
        assert endpoint.secret not in text and "whsec_previous" not in text
        assert "url" in presented
