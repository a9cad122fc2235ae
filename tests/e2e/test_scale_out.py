"""Scale-out on one PostgreSQL database: two `fourway serve` processes take concurrent
mutations while two `fourway worker` processes deliver the events; nothing is lost, sent
twice or left pending, and the alerts equal a fresh evaluation."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from models import Event, WebhookDelivery
from models.enums import DeliveryStatus
from settings import get_settings
from tests.conftest import requires_postgres
from tests.processes import free_port, start_fourway, wait_until_serving
from tests.receiver import Receiver, eventually
from tests.support import GraphQLClient, approve_deal_input

ENGAGEMENTS = 12

pytestmark = requires_postgres


def _env(database_url: str) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "FOURWAY_WEBHOOKS_ALLOW_PRIVATE_NETWORKS": "true",
        "FOURWAY_WEBHOOKS_DISPATCH_IN_SERVE": "false",
        "FOURWAY_SWEEP_INTERVAL_SECONDS": "0",
        "FOURWAY_WEBHOOKS_POLL_SECONDS": "0.2",
        "FOURWAY_DB_POOL_MAX_SIZE": "5",
    }


@contextlib.contextmanager
def processes(database_url: str, log: Path) -> Iterator[list[tuple[str, subprocess.Popen[bytes]]]]:
    """Two API processes and two workers; the API processes' base URLs and processes."""
    ports = [free_port(), free_port()]
    env = _env(database_url)
    started = [
        start_fourway("serve", "--host", "127.0.0.1", "--port", str(p), env=env, log=log)
        for p in ports
    ] + [start_fourway("worker", env=env, log=log) for _ in range(2)]
    try:
        yield [
            (f"http://127.0.0.1:{p}", process) for p, process in zip(ports, started, strict=False)
        ]
    finally:
        for process in started:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in started:
            process.wait(timeout=20)
        # uvicorn shuts down cleanly, then re-raises SIGTERM; workers exit 0.
        codes = [p.returncode for p in started]
        assert codes == [-signal.SIGTERM, -signal.SIGTERM, 0, 0], log.read_text()


async def _engagement_work(api: GraphQLClient, n: int, ids: dict[str, str]) -> str:
    """One engagement's life: sides that disagree, then agree, then sale and delivery."""

    async def m(name: str, input: dict[str, Any], selection: str = "") -> Any:
        payload = await api.mutate(name, input, selection)
        assert payload["userErrors"] == [], (name, payload["userErrors"])
        return payload

    made = await m(
        "createEngagement",
        {"name": f"Engagement {n}", "clientId": ids["client"], "currency": "EUR"},
        "engagement { id }",
    )
    e = made["engagement"]["id"]
    # Only a person holding SALES may be credited.
    await m(
        "createRoleAssignment",
        {"engagementId": e, "personId": ids["seller"], "function": "SALES", "raci": "ACCOUNTABLE"},
    )
    await m(
        "setEngagementCredits",
        {"engagementId": e, "credits": [{"personId": ids["seller"], "splitPct": "1"}]},
    )
    promise = await m(
        "createPromise",
        {
            "engagementId": e,
            "item": "build",
            "description": "Build it",
            "quantity": "10",
            "quotedAmount": "10000",
            "madeById": ids["seller"],
        },
        "promise { id }",
    )
    await m(
        "createPurchase",
        {
            "engagementId": e,
            "item": "build",
            "description": "Build it",
            "quantity": "10",
            "amount": "10000",
            "estimatedCost": "6000",
        },
    )
    await m(
        "updatePromise", {"id": promise["promise"]["id"], "deliverySignoffById": ids["sponsor"]}
    )
    await m("approveDeal", approve_deal_input(e))
    await m(
        "createDeliverable",
        {"engagementId": e, "item": "build", "description": "Build it", "quantity": "10"},
    )
    return str(e)


async def test_two_api_processes_and_two_workers_on_one_database(
    client, admin_key, database_url, tmp_path, monkeypatch
):
    monkeypatch.setattr(get_settings(), "webhooks_allow_private_networks", True)
    receivers = [Receiver(), Receiver()]
    for receiver in receivers:
        await receiver.start()
    log = tmp_path / "processes.log"
    seed = await client.mutate(
        "createOrganization", {"name": "Acme", "kind": "CLIENT"}, "organization { id }"
    )
    firm = await client.mutate(
        "createOrganization", {"name": "Firm", "kind": "PROVIDER"}, "organization { id }"
    )
    ids = {"client": seed["organization"]["id"]}
    for who, org in (("seller", firm), ("sponsor", seed)):
        person = await client.mutate(
            "createPerson",
            {"name": who, "email": f"{who}@x.example", "organizationId": org["organization"]["id"]},
            "person { id }",
        )
        ids[who] = person["person"]["id"]
    plan = await client.mutate(
        "createCommissionPlan",
        {"name": "Standard", "rateOnMargin": "0.10", "marginFloorPct": "0.20", "isDefault": True},
        "commissionPlan { id }",
    )
    assert plan["userErrors"] == []
    families = [["alert.*", "engagement.*", "compensation.*"], ["alert.opened", "compensation.*"]]
    for receiver, types in zip(receivers, families, strict=True):
        made = await client.mutate(
            "createWebhookEndpoint",
            {"url": receiver.url, "eventTypes": types},
            "webhookEndpoint { id } secret",
        )
        assert made["userErrors"] == []
        receiver.secrets.append(made["secret"])

    try:
        with processes(database_url, log) as served:
            for base, process in served:
                await wait_until_serving(base, process, log)
            bases = [base for base, _ in served]
            headers = {"Authorization": f"Bearer {admin_key}"}
            async with (
                httpx.AsyncClient(base_url=bases[0], headers=headers, timeout=60) as a,
                httpx.AsyncClient(base_url=bases[1], headers=headers, timeout=60) as b,
            ):
                apis = [GraphQLClient(a), GraphQLClient(b)]
                engagements = await asyncio.gather(
                    *(_engagement_work(apis[n % 2], n, ids) for n in range(ENGAGEMENTS))
                )

                async def settled() -> bool:
                    return not await WebhookDelivery.filter(status=DeliveryStatus.PENDING).exists()

                await eventually(settled, timeout=120)
                # The stored alerts equal a fresh evaluation: evaluating again changes none.
                for n, engagement in enumerate(engagements):
                    again = await apis[n % 2].mutate(
                        "evaluateEngagement",
                        {"id": engagement},
                        "alertsOpened { id } alertsResolved { id }",
                    )
                    assert again == {"alertsOpened": [], "alertsResolved": [], "userErrors": []}
    finally:
        for receiver in receivers:
            await receiver.stop()

    assert not await WebhookDelivery.filter(status=DeliveryStatus.FAILED).exists()
    events = await Event.all().values_list("uid", "type")
    assert len(events) > ENGAGEMENTS * 5
    for receiver, types in zip(receivers, families, strict=True):
        wanted = {
            uid for uid, type in events if type in types or f"{type.split('.')[0]}.*" in types
        }
        arrived = Counter(receiver.ids())
        assert set(arrived) == wanted  # every event it subscribed to
        assert max(arrived.values()) == 1  # none twice
        assert all(r.verified_by == receiver.secrets for r in receiver.received)
