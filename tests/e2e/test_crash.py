"""A `fourway serve` killed with SIGKILL in the middle of a burst of writes leaves no
partial change: every side that committed has its audit entry, the alerts and pay equal a
fresh evaluation, and a new process serves the same database at once. On both databases:
SQLite's journal and PostgreSQL's log each roll back what had not committed."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from typing import Any

import httpx

from models import AuditEntry, CompensationSignal, Promise, Purchase
from tests.processes import free_port, start_fourway, wait_until_serving
from tests.support import GraphQLClient, approve_deal_input

WRITERS = 6
ENGAGEMENTS = 3


async def _portfolio(client: GraphQLClient) -> tuple[list[str], str]:
    """Engagements sold and credited to one seller under the default plan; their ids and
    the seller's."""

    async def m(name: str, input: dict[str, Any], selection: str) -> Any:
        payload = await client.mutate(name, input, selection)
        assert payload["userErrors"] == [], (name, payload)
        return payload

    acme = await m("createOrganization", {"name": "Acme", "kind": "CLIENT"}, "organization { id }")
    seller = await m(
        "createPerson",
        {"name": "Sam", "email": "sam@x.example", "organizationId": acme["organization"]["id"]},
        "person { id }",
    )
    await m(
        "createCommissionPlan",
        {"name": "Standard", "rateOnMargin": "0.10", "marginFloorPct": "0.20", "isDefault": True},
        "commissionPlan { id }",
    )
    engagements = []
    for n in range(ENGAGEMENTS):
        made = await m(
            "createEngagement",
            {
                "name": f"E{n}",
                "clientId": acme["organization"]["id"],
                "currency": "EUR",
            },
            "engagement { id }",
        )
        engagement = made["engagement"]["id"]
        await m("approveDeal", approve_deal_input(engagement), "userErrors { code }")
        # Only a person holding SALES may be credited.
        await m(
            "createRoleAssignment",
            {
                "engagementId": engagement,
                "personId": seller["person"]["id"],
                "function": "SALES",
                "raci": "ACCOUNTABLE",
            },
            "userErrors { code }",
        )
        await m(
            "setEngagementCredits",
            {
                "engagementId": engagement,
                "credits": [{"personId": seller["person"]["id"], "splitPct": "1"}],
            },
            "userErrors { code }",
        )
        engagements.append(engagement)
    return engagements, seller["person"]["id"]


async def _write_until_killed(
    api: GraphQLClient, engagements: list[str], seller: str, writer: int, done: list[int]
) -> None:
    """Promises and purchases that open and resolve alerts and move pay, until the server
    stops answering."""
    n = 0
    with contextlib.suppress(httpx.TransportError):
        while True:
            engagement = engagements[(writer + n) % len(engagements)]
            item = f"item-{writer}-{n}"
            await api.mutate(
                "createPromise",
                {
                    "engagementId": engagement,
                    "item": item,
                    "description": "Promised",
                    "quantity": "5",
                    "quotedAmount": "5000",
                    "madeById": seller,
                },
                "promise { id }",
            )
            await api.mutate(
                "createPurchase",
                {
                    "engagementId": engagement,
                    "item": item,
                    "description": "Bought",
                    "quantity": "5",
                    "amount": "5000",
                    "estimatedCost": "3000",
                },
                "purchase { id }",
            )
            done.append(1)
            n += 1


async def test_a_server_killed_mid_burst_leaves_no_partial_write(
    client, admin_key, database_url, tmp_path
):
    engagements, seller = await _portfolio(client)
    log = tmp_path / "serve.log"
    env = {
        "DATABASE_URL": database_url,
        "FOURWAY_SWEEP_INTERVAL_SECONDS": "0",
        "FOURWAY_WEBHOOKS_DISPATCH_IN_SERVE": "false",
        "FOURWAY_DB_POOL_MAX_SIZE": "8",
    }
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_fourway("serve", "--host", "127.0.0.1", "--port", str(port), env=env, log=log)
    try:
        await wait_until_serving(base, server, log)
        done: list[int] = []
        async with httpx.AsyncClient(
            base_url=base, headers={"Authorization": f"Bearer {admin_key}"}, timeout=60
        ) as http:
            api = GraphQLClient(http)
            writers = [
                asyncio.create_task(_write_until_killed(api, engagements, seller, w, done))
                for w in range(WRITERS)
            ]
            while len(done) < 3 * WRITERS:
                assert server.poll() is None, log.read_text()
                await asyncio.sleep(0.05)
            server.send_signal(signal.SIGKILL)  # with every writer in flight
            server.wait(timeout=20)
            await asyncio.wait_for(asyncio.gather(*writers), timeout=60)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(timeout=20)

    # Every side that committed did so with its audit entry, and nothing else did.
    for model, kind in ((Promise, "promise"), (Purchase, "purchase")):
        rows = set(await model.all().values_list("id", flat=True))
        audited = set(
            await AuditEntry.filter(action=f"{kind}.created").values_list("target_id", flat=True)
        )
        assert rows == audited, kind
    assert len(done) >= 3 * WRITERS

    # The alerts and the ledger equal a fresh evaluation: evaluating again changes nothing.
    signals = await CompensationSignal.all().count()
    for engagement in engagements:
        again = await client.mutate(
            "evaluateEngagement", {"id": engagement}, "alertsOpened { id } alertsResolved { id }"
        )
        assert again == {"alertsOpened": [], "alertsResolved": [], "userErrors": []}
    assert await CompensationSignal.all().count() == signals

    # A new process serves the same database at once.
    port = free_port()
    again_served = start_fourway(
        "serve", "--host", "127.0.0.1", "--port", str(port), env=env, log=log
    )
    try:
        await wait_until_serving(f"http://127.0.0.1:{port}", again_served, log)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            assert (await http.get("/readyz")).json() == {"status": "ready"}
    finally:
        again_served.send_signal(signal.SIGTERM)
        again_served.wait(timeout=20)
