"""Who may decide: every cell of the decision table through GraphQL, with keys tied to
people, and a salesperson trying each way around the controls on their own pay."""

from __future__ import annotations

from typing import Any

from api.core.relay import from_global_id
from models.enums import EngagementFunction
from services.access.api_keys import create_api_key
from services.engagements.decisions import TABLE, Decision
from tests.support import APPROVAL_NOTE, GraphQLClient, approve_deal_input, http_as, seed_engagement

AT = "2026-11-20T09:00:00+00:00"
FUNCTIONS = list(EngagementFunction)


def _pk(global_id: str) -> int:
    return int(from_global_id(global_id)[1])


async def _id(client: GraphQLClient, name: str, input: dict[str, Any], field: str) -> str:
    payload = await client.mutate(name, input, f"{field} {{ id }}")
    assert payload["userErrors"] == [], (name, payload["userErrors"])
    return str(payload[field]["id"])


async def _world(client: GraphQLClient) -> dict[str, str]:
    """An engagement where one person of our firm holds each function (ACCOUNTABLE), the
    client has a sponsor and a plain contact, and Sam sold it: Sam is credited, on the
    default plan, and holds SALES and every function that could decide on it."""
    ids: dict[str, str] = {}
    ids["client"] = await _id(
        client, "createOrganization", {"name": "Acme", "kind": "CLIENT"}, "organization"
    )
    ids["firm"] = await _id(
        client, "createOrganization", {"name": "Fourway", "kind": "PROVIDER"}, "organization"
    )
    e = ids["engagement"] = await _id(
        client,
        "createEngagement",
        {"name": "ERP rollout", "clientId": ids["client"], "currency": "EUR"},
        "engagement",
    )

    async def person(key: str, org: str, *functions: str) -> str:
        ids[key] = await _id(
            client,
            "createPerson",
            {"name": key, "email": f"{key.lower()}@x.example", "organizationId": ids[org]},
            "person",
        )
        for function in functions:
            await _id(
                client,
                "createRoleAssignment",
                {
                    "engagementId": e,
                    "personId": ids[key],
                    "function": function,
                    "raci": "ACCOUNTABLE",
                },
                "roleAssignment",
            )
        return ids[key]

    for function in FUNCTIONS:
        await person(function.value, "firm", function.value)
    await person("ClientSponsor", "client", "SPONSOR")
    await person("ClientContact", "client")
    await person(
        "Sam", "firm", "SALES", *(f.value for f in FUNCTIONS if f != EngagementFunction.SALES)
    )
    await _id(
        client,
        "createCommissionPlan",
        {"name": "Standard", "rateOnMargin": "0.10", "marginFloorPct": "0.20", "isDefault": True},
        "commissionPlan",
    )
    payload = await client.mutate(
        "setEngagementCredits",
        {"engagementId": e, "credits": [{"personId": ids["Sam"], "splitPct": "1"}]},
        "credits { splitPct }",
    )
    assert payload["userErrors"] == []
    return ids


class Attempt:
    """One decision tried by one person's key, on a fresh subject each time."""

    def __init__(self, client: GraphQLClient, settings: Any, ids: dict[str, str]) -> None:
        self.client, self.settings, self.ids = client, settings, ids
        self.n = 0

    async def as_(self, who: str | None, role: str, name: str, input: dict[str, Any]) -> list[str]:
        person = _pk(self.ids[who]) if who else None
        key = await create_api_key(name=f"{who}-{self.n}", role=role, person_id=person)
        async with http_as(self.settings, key.key) as http:
            payload = await GraphQLClient(http).mutate(name, input, "__typename")
        return [e["code"] for e in payload["userErrors"]]

    async def subject(self, decision: Decision) -> dict[str, Any]:
        """Make something to decide on, as the admin; return the decision's mutation input
        without the decider."""
        self.n += 1
        e, item = self.ids["engagement"], f"item-{self.n}"
        if decision is Decision.SIGN_OFF_DELIVERY:
            promise = await _id(
                self.client,
                "createPromise",
                {
                    "engagementId": e,
                    "item": item,
                    "description": "d",
                    "quantity": "1",
                    "madeById": self.ids["Sam"],
                },
                "promise",
            )
            return {"id": promise, "deliverySignoffAt": AT}
        if decision is Decision.ACCEPT_DELIVERABLE:
            deliverable = await _id(
                self.client,
                "createDeliverable",
                {
                    "engagementId": e,
                    "item": item,
                    "description": "d",
                    "quantity": "1",
                    "status": "DELIVERED",
                },
                "deliverable",
            )
            return {"id": deliverable, "status": "ACCEPTED", "acceptedAt": AT}
        if decision is Decision.APPROVE_CHANGE_ORDER:
            order = await _id(
                self.client,
                "createChangeOrder",
                {"engagementId": e, "item": item, "description": "d", "amountDelta": "500"},
                "changeOrder",
            )
            return {"id": order, "status": "APPROVED", "approvedAt": AT}
        assert decision in (Decision.WAIVE_HOLDING_ALERT, Decision.ACKNOWLEDGE_HOLDING_ALERT)
        # A promise without sign-off opens promise-without-signoff, which holds Sam's pay.
        payload = await self.client.mutate(
            "createPromise",
            {
                "engagementId": e,
                "item": item,
                "description": "d",
                "quantity": "1",
                "madeById": self.ids["Sam"],
            },
            "alertsOpened { id ruleId }",
        )
        [alert] = [
            a["id"] for a in payload["alertsOpened"] if a["ruleId"] == "promise-without-signoff"
        ]
        if decision is Decision.WAIVE_HOLDING_ALERT:
            return {"id": alert, "reason": "Agreed with the client"}
        return {"id": alert, "comment": "Seen"}

    async def decide(self, decision: Decision, who: str | None, role: str = "ADMIN") -> list[str]:
        input = await self.subject(decision)
        person = self.ids[who] if who else None
        mutation = {
            Decision.SIGN_OFF_DELIVERY: ("updatePromise", "deliverySignoffById"),
            Decision.ACCEPT_DELIVERABLE: ("updateDeliverable", "acceptedById"),
            Decision.APPROVE_CHANGE_ORDER: ("updateChangeOrder", "approvedById"),
            Decision.WAIVE_HOLDING_ALERT: ("waiveAlert", None),
            Decision.ACKNOWLEDGE_HOLDING_ALERT: ("acknowledgeAlert", None),
        }
        name, named = mutation[decision]
        if named is not None:
            input[named] = person or self.ids["ClientSponsor"]
        return await self.as_(who, role, name, input)


# Who the table lets take each decision, written out here on its own: the functions (held
# by a person of our firm), and which of the client's people.
EXPECTED: dict[Decision, tuple[set[str], set[str]]] = {
    Decision.SIGN_OFF_DELIVERY: (
        {"DELIVERY", "PROJECT_MANAGEMENT", "FUNCTIONAL_MANAGEMENT"},
        set(),
    ),
    Decision.ACCEPT_DELIVERABLE: ({"QUALITY"}, {"ClientSponsor", "ClientContact"}),
    Decision.APPROVE_CHANGE_ORDER: ({"ENGAGEMENT_MANAGEMENT"}, {"ClientSponsor"}),
    Decision.WAIVE_HOLDING_ALERT: ({"FINANCE", "ENGAGEMENT_MANAGEMENT"}, set()),
    Decision.ACKNOWLEDGE_HOLDING_ALERT: (
        {f.value for f in FUNCTIONS},
        {"ClientSponsor", "ClientContact"},
    ),
}


async def _cells(client: GraphQLClient, settings: Any, decision: Decision) -> None:
    ids = await _world(client)
    attempt = Attempt(client, settings, ids)
    allowed, client_side = EXPECTED[decision]
    for who in [*(f.value for f in FUNCTIONS), "ClientSponsor", "ClientContact"]:
        expected = [] if who in allowed | client_side else ["FORBIDDEN"]
        assert await attempt.decide(decision, who) == expected, (decision, who)
    # Sam holds every function, and is credited: refused for the conflict alone.
    assert await attempt.decide(decision, "Sam") == ["CONFLICT_OF_INTEREST"]
    # An admin key tied to no person decides outside the engagement's structure.
    assert await attempt.decide(decision, None) == []
    # Any other key tied to no person may not decide at all.
    assert await attempt.decide(
        decision, None, role="DELIVERY" if decision is Decision.ACCEPT_DELIVERABLE else "SALES"
    ) in (["FORBIDDEN"],)


def test_the_expected_table_names_every_decision_taken_by_someone() -> None:
    assert set(EXPECTED) | {Decision.APPROVE_DEAL, Decision.BE_CREDITED} == set(TABLE)


async def test_only_delivery_project_or_functional_management_sign_off_delivery(client, settings):
    await _cells(client, settings, Decision.SIGN_OFF_DELIVERY)


async def test_only_quality_or_the_client_accepts_a_deliverable(client, settings):
    await _cells(client, settings, Decision.ACCEPT_DELIVERABLE)


async def test_only_engagement_management_or_the_client_sponsor_approves_a_change_order(
    client, settings
):
    await _cells(client, settings, Decision.APPROVE_CHANGE_ORDER)


async def test_only_finance_or_engagement_management_waive_an_alert_that_holds_pay(
    client, settings
):
    await _cells(client, settings, Decision.WAIVE_HOLDING_ALERT)


async def test_anyone_but_the_person_it_holds_pays_acknowledges_an_alert_that_holds_pay(
    client, settings
):
    await _cells(client, settings, Decision.ACKNOWLEDGE_HOLDING_ALERT)


async def test_only_people_holding_sales_may_be_credited(client):
    ids = await _world(client)
    for who in [*(f.value for f in FUNCTIONS), "ClientSponsor"]:
        payload = await client.mutate(
            "setEngagementCredits",
            {
                "engagementId": ids["engagement"],
                "credits": [{"personId": ids[who], "splitPct": "1"}],
            },
            "credits { splitPct }",
        )
        codes = [e["code"] for e in payload["userErrors"]]
        assert codes == ([] if who == "SALES" else ["FORBIDDEN"]), who
        if codes:
            assert payload["userErrors"][0]["field"] == ["input", "credits", "0", "personId"]


async def test_a_credited_person_may_not_be_named_as_the_one_who_decided(client, settings):
    ids = await _world(client)
    attempt = Attempt(client, settings, ids)
    promise = await attempt.subject(Decision.SIGN_OFF_DELIVERY)
    payload = await client.mutate(
        "updatePromise",
        {**promise, "deliverySignoffById": ids["Sam"]},
        "promise { deliverySignoffAt }",
    )
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [
        ("CONFLICT_OF_INTEREST", ["input", "deliverySignoffById"])
    ]


SAM_ALERTS = (
    "query($id: ID!) { engagement(id: $id) { alerts(first: 50) { nodes { id ruleId status } } "
    "promises(first: 50) { nodes { id deliverySignoffAt } } "
    "deliverables(first: 50) { nodes { id status } } } }"
)


async def test_a_salesperson_is_refused_every_way_around_the_controls_on_their_pay(
    client, settings
):
    """The salesperson's own SALES key: signing off their promise, waiving the alert that
    holds their pay, accepting a deliverable, crediting someone without SALES. Each is
    refused and writes nothing."""
    ids = await _world(client)
    attempt = Attempt(client, settings, ids)
    before = await client.data(SAM_ALERTS, {"id": ids["engagement"]})

    signoff = await attempt.subject(Decision.SIGN_OFF_DELIVERY)
    codes = await attempt.as_(
        "Sam", "SALES", "updatePromise", {**signoff, "deliverySignoffById": ids["DELIVERY"]}
    )
    assert codes == ["CONFLICT_OF_INTEREST"]

    waiver = await attempt.subject(Decision.WAIVE_HOLDING_ALERT)
    assert await attempt.as_("Sam", "SALES", "waiveAlert", waiver) == ["CONFLICT_OF_INTEREST"]
    assert await attempt.as_(
        "Sam", "SALES", "acknowledgeAlert", {"id": waiver["id"], "comment": "x"}
    ) == ["CONFLICT_OF_INTEREST"]
    after = await client.data(SAM_ALERTS, {"id": ids["engagement"]})
    [held] = [a for a in after["engagement"]["alerts"]["nodes"] if a["id"] == waiver["id"]]
    assert held["status"] == "OPEN"
    assert all(p["deliverySignoffAt"] is None for p in after["engagement"]["promises"]["nodes"])
    assert len(after["engagement"]["alerts"]["nodes"]) > len(
        before["engagement"]["alerts"]["nodes"]
    )

    order = await attempt.subject(Decision.APPROVE_CHANGE_ORDER)
    assert await attempt.as_(
        "Sam", "SALES", "updateChangeOrder", {**order, "approvedById": ids["ClientSponsor"]}
    ) == ["CONFLICT_OF_INTEREST"]

    # A SALES key may not change deliverables at all (the role table); with an admin key
    # tied to Sam, the decision table refuses the acceptance.
    acceptance = await attempt.subject(Decision.ACCEPT_DELIVERABLE)
    assert await attempt.as_(
        "Sam", "ADMIN", "updateDeliverable", {**acceptance, "acceptedById": ids["ClientContact"]}
    ) == ["CONFLICT_OF_INTEREST"]
    statuses = await client.data(SAM_ALERTS, {"id": ids["engagement"]})
    assert {d["status"] for d in statuses["engagement"]["deliverables"]["nodes"]} == {"DELIVERED"}


def _refused(text: str, code: str, decision: str) -> float:
    line = f'fourway_decisions_refused_total{{code="{code}",decision="{decision}"}} '
    return sum(float(row[len(line) :]) for row in text.splitlines() if row.startswith(line))


async def test_refusals_are_counted_in_metrics_by_code_and_decision(client, settings):
    ids = await _world(client)
    attempt = Attempt(client, settings, ids)
    before = (await client.http.get("/metrics")).text
    assert await attempt.decide(Decision.SIGN_OFF_DELIVERY, "Sam") == ["CONFLICT_OF_INTEREST"]
    assert await attempt.decide(Decision.SIGN_OFF_DELIVERY, "QUALITY") == ["FORBIDDEN"]
    after = (await client.http.get("/metrics")).text
    for code in ("CONFLICT_OF_INTEREST", "FORBIDDEN"):
        grew = _refused(after, code, "sign-off-delivery") - _refused(
            before, code, "sign-off-delivery"
        )
        assert grew == 1, code


DEAL = (
    "query($id: ID!) { engagement(id: $id) { status dealApproval { required { name } "
    "approvedBy { person { name } function note } pending { name } decidedAt } } }"
)


async def _deal(client: GraphQLClient, engagement: str) -> dict[str, Any]:
    """The engagement's status with its dealApproval's fields."""
    data = await client.data(DEAL, {"id": engagement})
    deal: dict[str, Any] = data["engagement"]["dealApproval"]
    return {"status": data["engagement"]["status"], **deal}


async def test_the_deal_is_approved_only_by_engagement_management_or_a_sponsor(client, settings):
    """Every person tries once under CONSENSUS: only the holders of ENGAGEMENT_MANAGEMENT
    or SPONSOR may, Sam never, and the last of the three required completes it."""
    ids = await _world(client)
    e = ids["engagement"]
    await client.mutate("updateEngagement", {"id": e, "decisionModel": "CONSENSUS"}, "")
    attempt = Attempt(client, settings, ids)
    approvers = {"ENGAGEMENT_MANAGEMENT", "SPONSOR", "ClientSponsor"}
    assert await attempt.as_("Sam", "SALES", "approveDeal", {"engagementId": e}) == [
        "CONFLICT_OF_INTEREST"
    ]
    for who in ["ClientContact", *(f.value for f in FUNCTIONS), "ClientSponsor"]:
        codes = await attempt.as_(who, "ADMIN", "approveDeal", {"engagementId": e})
        assert codes == ([] if who in approvers else ["FORBIDDEN"]), who
        deal = await _deal(client, e)
        assert deal["status"] == ("SOLD" if who == "ClientSponsor" else "PROPOSED"), who
    # Sam is credited: the model does not wait for him.
    assert {p["name"] for p in deal["required"]} == approvers
    assert deal["pending"] == [] and deal["decidedAt"] is not None
    assert {(a["person"]["name"], a["function"]) for a in deal["approvedBy"]} == {
        ("ENGAGEMENT_MANAGEMENT", "ENGAGEMENT_MANAGEMENT"),
        ("SPONSOR", "SPONSOR"),
        ("ClientSponsor", "SPONSOR"),
    }


async def test_two_accountable_sponsors_must_both_approve_under_consensus(client, settings):
    ids = await seed_engagement(client)
    e = ids["engagement"]
    bob = await _id(
        client,
        "createPerson",
        {"name": "Bob Board", "email": "bob@acme.example", "organizationId": ids["client"]},
        "person",
    )
    for person in (ids["sponsor"], bob):
        await _id(
            client,
            "createRoleAssignment",
            {"engagementId": e, "personId": person, "function": "SPONSOR", "raci": "ACCOUNTABLE"},
            "roleAssignment",
        )
    await client.mutate("updateEngagement", {"id": e, "decisionModel": "CONSENSUS"}, "")
    ada_key = await create_api_key(name="ada", role="SALES", person_id=_pk(ids["sponsor"]))
    bob_key = await create_api_key(name="bob", role="SALES", person_id=_pk(bob))

    async with http_as(settings, ada_key.key) as http:
        first = await GraphQLClient(http).mutate(
            "approveDeal", {"engagementId": e, "note": "Fits the budget"}, "engagement { status }"
        )
    assert first["userErrors"] == []
    assert first["engagement"]["status"] == "PROPOSED"
    deal = await _deal(client, e)
    assert [p["name"] for p in deal["pending"]] == ["Bob Board"]
    assert deal["approvedBy"] == [
        {"person": {"name": "Ada Sponsor"}, "function": "SPONSOR", "note": "Fits the budget"}
    ]
    refused = await client.mutate(
        "updateEngagement", {"id": e, "status": "SOLD"}, "engagement { status }"
    )
    assert refused["userErrors"] == [
        {
            "field": ["input", "status"],
            "message": "The deal is not approved: it needs approveDeal by Bob Board "
            "(CONSENSUS: 2 of 2).",
            "code": "CONFLICT",
        }
    ]

    async with http_as(settings, bob_key.key) as http:
        second = await GraphQLClient(http).mutate(
            "approveDeal", {"engagementId": e}, "engagement { status }"
        )
    assert second["userErrors"] == []
    assert second["engagement"]["status"] == "SOLD"
    deal = await _deal(client, e)
    assert deal["pending"] == [] and deal["decidedAt"] is not None
    # Each approval is in the audit trail: who, with which key, in which function.
    trail = await client.data(
        "query($f: AuditLogFilter) { auditLog(filter: $f, first: 10) { nodes { "
        "after changedFields actor { kind personId } } } }",
        {"f": {"engagementId": e, "action": ["engagement.deal_approved"]}},
    )
    entries = trail["auditLog"]["nodes"]
    assert [(x["actor"]["personId"], x["after"]["approval"]["function"]) for x in entries] == [
        (ids["sponsor"], "SPONSOR"),
        (bob, "SPONSOR"),
    ]
    assert [x["changedFields"] for x in entries] == [["approval"], ["approval", "status"]]


async def test_a_majority_of_three_accountable_approvers_is_two(client, settings):
    ids = await seed_engagement(client)
    e = ids["engagement"]
    people = []
    for n in range(3):
        person = await _id(
            client,
            "createPerson",
            {
                "name": f"Board {n}",
                "email": f"board{n}@acme.example",
                "organizationId": ids["client"],
            },
            "person",
        )
        await _id(
            client,
            "createRoleAssignment",
            {"engagementId": e, "personId": person, "function": "SPONSOR", "raci": "ACCOUNTABLE"},
            "roleAssignment",
        )
        people.append(person)
    await client.mutate("updateEngagement", {"id": e, "decisionModel": "MAJORITY"}, "")
    statuses = []
    for person in people[:2]:
        key = await create_api_key(name="board", role="SALES", person_id=_pk(person))
        async with http_as(settings, key.key) as http:
            payload = await GraphQLClient(http).mutate(
                "approveDeal", {"engagementId": e}, "engagement { status }"
            )
        statuses.append(payload["engagement"]["status"])
    assert statuses == ["PROPOSED", "SOLD"]


async def test_an_admin_key_tied_to_no_person_approves_alone_but_only_with_a_note(client):
    ids = await seed_engagement(client)
    e = ids["engagement"]
    bare = await client.mutate("approveDeal", {"engagementId": e}, "engagement { status }")
    assert [(u["field"], u["code"]) for u in bare["userErrors"]] == [
        (["input", "note"], "VALIDATION")
    ]
    payload = await client.mutate("approveDeal", approve_deal_input(e), "engagement { status }")
    assert payload["engagement"]["status"] == "SOLD"
    deal = await _deal(client, e)
    assert deal["approvedBy"] == [{"person": None, "function": None, "note": APPROVAL_NOTE}]
    again = await client.mutate("approveDeal", approve_deal_input(e), "engagement { status }")
    assert [u["code"] for u in again["userErrors"]] == ["CONFLICT"]


async def test_a_salesperson_cannot_move_their_own_engagement_to_sold(client, settings):
    ids = await _world(client)
    e = ids["engagement"]
    key = await create_api_key(name="sam", role="SALES", person_id=_pk(ids["Sam"]))
    async with http_as(settings, key.key) as http:
        sam = GraphQLClient(http)
        moved = await sam.mutate(
            "updateEngagement", {"id": e, "status": "SOLD"}, "engagement { status }"
        )
        approved = await sam.mutate("approveDeal", {"engagementId": e}, "engagement { status }")
        created = await sam.mutate(
            "createEngagement",
            {
                "name": "Sold already",
                "clientId": ids["client"],
                "currency": "EUR",
                "status": "SOLD",
            },
            "engagement { status }",
        )
    assert moved["userErrors"][0]["code"] == "CONFLICT"
    assert (
        "ENGAGEMENT_MANAGEMENT" in moved["userErrors"][0]["message"]
        or "needs approveDeal" in moved["userErrors"][0]["message"]
    )
    assert [u["code"] for u in approved["userErrors"]] == ["CONFLICT_OF_INTEREST"]
    assert [u["code"] for u in created["userErrors"]] == ["CONFLICT"]
    assert (await _deal(client, e))["status"] == "PROPOSED"


async def test_an_external_engagement_missing_legal_is_flagged_until_it_is_in_house(client):
    ids = await seed_engagement(client)
    e = ids["engagement"]
    unassigned = (
        "query($id: ID!) { engagement(id: $id) { alerts(first: 50, status: [OPEN]) { nodes { "
        "ruleId severity message } } } }"
    )

    async def missing() -> dict[str, str]:
        data = await client.data(unassigned, {"id": e})
        return {
            a["message"].split()[2].rstrip(":,"): a["severity"]
            for a in data["engagement"]["alerts"]["nodes"]
            if a["ruleId"] == "function-unassigned"
        }

    # No project manager either: each is CRITICAL.
    assert await missing() == {
        f: "CRITICAL"
        for f in ("SALES", "ENGAGEMENT_MANAGEMENT", "DELIVERY", "LEGAL", "PROCUREMENT", "FINANCE")
    }
    await client.mutate("updateEngagement", {"id": e, "inHouse": True}, "")
    assert set(await missing()) == {"SALES", "ENGAGEMENT_MANAGEMENT", "DELIVERY"}


OUTSIDE = "decided-outside-the-engagement"
OPEN_ALERTS = (
    "query($id: ID!) { engagement(id: $id) { alerts(first: 100, status: [OPEN]) { nodes { "
    "ruleId message facts } } } }"
)


async def _outside(client: GraphQLClient, engagement: str) -> list[str]:
    """The subjects of the engagement's open decided-outside-the-engagement alerts."""
    data = await client.data(OPEN_ALERTS, {"id": engagement})
    return sorted(
        a["facts"]["decision"]["subject"]
        for a in data["engagement"]["alerts"]["nodes"]
        if a["ruleId"] == OUTSIDE
    )


async def test_a_decision_by_a_key_for_no_person_is_flagged_until_a_person_takes_it(
    client, settings
):
    """An ADMIN key acting for no person may decide, and every decision it takes that still
    stands raises decided-outside-the-engagement; a person who may take it taking it again,
    or undoing it, resolves the alert."""
    ids = await _world(client)
    e = ids["engagement"]
    attempt = Attempt(client, settings, ids)
    assert await _outside(client, e) == []
    subjects = {}
    for decision in EXPECTED:
        input = await attempt.subject(decision)
        subjects[decision] = input["id"]
        name = {
            Decision.SIGN_OFF_DELIVERY: "updatePromise",
            Decision.ACCEPT_DELIVERABLE: "updateDeliverable",
            Decision.APPROVE_CHANGE_ORDER: "updateChangeOrder",
            Decision.WAIVE_HOLDING_ALERT: "waiveAlert",
            Decision.ACKNOWLEDGE_HOLDING_ALERT: "acknowledgeAlert",
        }[decision]
        if decision is Decision.SIGN_OFF_DELIVERY:
            input["deliverySignoffById"] = ids["DELIVERY"]
        if decision is Decision.ACCEPT_DELIVERABLE:
            input["acceptedById"] = ids["ClientContact"]
        if decision is Decision.APPROVE_CHANGE_ORDER:
            input["approvedById"] = ids["ClientSponsor"]
        assert await attempt.as_(None, "ADMIN", name, input) == [], decision
    # The waived alert and the acknowledged one hold pay: both are decisions.
    kinds = {"Promise": "promise", "Deliverable": "deliverable", "ChangeOrder": "change_order"}

    def subject(global_id: str) -> str:
        type_name, pk = from_global_id(global_id)
        return f"{kinds.get(type_name, 'alert')}:{pk}"

    assert await _outside(client, e) == sorted(subject(s) for s in subjects.values())
    data = await client.data(OPEN_ALERTS, {"id": e})
    [signoff] = [
        a
        for a in data["engagement"]["alerts"]["nodes"]
        if a["ruleId"] == OUTSIDE
        and a["facts"]["decision"]["subject"] == subject(subjects[Decision.SIGN_OFF_DELIVERY])
    ]
    assert "sign off delivery on a promise" in signoff["message"]
    assert "acts for no person" in signoff["message"]

    # Delivery signs off again with their own key; quality accepts again; the client's
    # sponsor approves the change order again; undoing nothing else.
    again = {
        Decision.SIGN_OFF_DELIVERY: (
            "DELIVERY",
            "updatePromise",
            {"deliverySignoffById": ids["DELIVERY"], "deliverySignoffAt": "2026-11-21T09:00:00Z"},
        ),
        Decision.ACCEPT_DELIVERABLE: (
            "QUALITY",
            "updateDeliverable",
            {"acceptedById": ids["QUALITY"], "acceptedAt": "2026-11-21T09:00:00Z"},
        ),
        Decision.APPROVE_CHANGE_ORDER: (
            "ClientSponsor",
            "updateChangeOrder",
            {"approvedById": ids["ClientSponsor"], "approvedAt": "2026-11-21T09:00:00Z"},
        ),
    }
    for decision, (who, name, input) in again.items():
        codes = await attempt.as_(who, "ADMIN", name, {"id": subjects[decision], **input})
        assert codes == [], decision
    assert await _outside(client, e) == sorted(
        subject(subjects[d])
        for d in (Decision.WAIVE_HOLDING_ALERT, Decision.ACKNOWLEDGE_HOLDING_ALERT)
    )


async def test_a_deal_approved_by_a_key_for_no_person_is_flagged(client):
    ids = await seed_engagement(client)
    e = ids["engagement"]
    payload = await client.mutate("approveDeal", approve_deal_input(e), "engagement { status }")
    assert payload["engagement"]["status"] == "SOLD"
    assert await _outside(client, e) == [f"engagement:{_pk(e)}"]


async def test_every_decision_is_in_the_audit_trail_with_who_and_in_which_function(
    client, settings
):
    ids = await _world(client)
    e = ids["engagement"]
    attempt = Attempt(client, settings, ids)
    takers = {
        Decision.SIGN_OFF_DELIVERY: "FUNCTIONAL_MANAGEMENT",
        Decision.ACCEPT_DELIVERABLE: "QUALITY",
        Decision.APPROVE_CHANGE_ORDER: "ClientSponsor",
        Decision.WAIVE_HOLDING_ALERT: "FINANCE",
        Decision.ACKNOWLEDGE_HOLDING_ALERT: "LEGAL",
    }
    for decision, who in takers.items():
        assert await attempt.decide(decision, who) == [], decision
    assert await attempt.decide(Decision.SIGN_OFF_DELIVERY, None) == []
    approver = await create_api_key(
        name="em", role="SALES", person_id=_pk(ids["ENGAGEMENT_MANAGEMENT"])
    )
    async with http_as(settings, approver.key) as http:
        approved = await GraphQLClient(http).mutate(
            "approveDeal", {"engagementId": e}, "engagement { status }"
        )
    assert approved["userErrors"] == []
    trail = await client.data(
        "query($f: AuditLogFilter) { auditLog(filter: $f, first: 100) { nodes { "
        "action decision actor { kind personId apiKeyPrefix function } } } }",
        {"f": {"engagementId": e}},
    )
    decided = [
        (x["decision"], x["action"], x["actor"]["personId"], x["actor"]["function"])
        for x in trail["auditLog"]["nodes"]
        if x["decision"] is not None
    ]
    function_of = {"ClientSponsor": "SPONSOR"}
    assert decided == [
        *(
            (
                decision.value,
                {
                    Decision.SIGN_OFF_DELIVERY: "promise.updated",
                    Decision.ACCEPT_DELIVERABLE: "deliverable.updated",
                    Decision.APPROVE_CHANGE_ORDER: "change_order.updated",
                    Decision.WAIVE_HOLDING_ALERT: "alert.waived",
                    Decision.ACKNOWLEDGE_HOLDING_ALERT: "alert.acknowledged",
                }[decision],
                ids[who],
                function_of.get(who, who),
            )
            for decision, who in takers.items()
        ),
        ("sign-off-delivery", "promise.updated", None, None),
        (
            "approve-deal",
            "engagement.deal_approved",
            ids["ENGAGEMENT_MANAGEMENT"],
            "ENGAGEMENT_MANAGEMENT",
        ),
    ]
    # Changes that decide nothing carry no decision.
    undecided = [x for x in trail["auditLog"]["nodes"] if x["decision"] is None]
    assert undecided and all(x["actor"]["function"] is None for x in undecided)


REQUIRED = (
    "query($id: ID!) { engagement(id: $id) { requiredFunctions { function required "
    "requiredByDefault overridden } } }"
)


async def test_an_engagement_answers_for_itself_which_functions_it_needs(client):
    ids = await seed_engagement(client)
    e = ids["engagement"]
    unassigned = (
        "query($id: ID!) { engagement(id: $id) { alerts(first: 50, status: [OPEN]) { nodes { "
        "ruleId facts } } } }"
    )

    async def missing() -> set[str]:
        data = await client.data(unassigned, {"id": e})
        return {
            a["facts"]["function"]["function"]
            for a in data["engagement"]["alerts"]["nodes"]
            if a["ruleId"] == "function-unassigned"
        }

    async def required() -> dict[str, tuple[bool, bool, bool]]:
        data = await client.data(REQUIRED, {"id": e})
        return {
            r["function"]: (r["required"], r["requiredByDefault"], r["overridden"])
            for r in data["engagement"]["requiredFunctions"]
        }

    table = {"SALES", "ENGAGEMENT_MANAGEMENT", "DELIVERY", "LEGAL", "PROCUREMENT", "FINANCE"}
    assert await missing() == table
    assert await required() == {
        f.value: (f.value in table, f.value in table, False) for f in FUNCTIONS
    }
    # Legal is the client's own counsel's business here; quality is wanted from the start.
    payload = await client.mutate(
        "updateEngagement",
        {"id": e, "requiredFunctions": {"legal": False, "quality": True}},
        "engagement { id }",
    )
    assert payload["userErrors"] == []
    assert await missing() == table - {"LEGAL"} | {"QUALITY"}
    answers = await required()
    assert answers["LEGAL"] == (False, True, True)
    assert answers["QUALITY"] == (True, False, True)
    assert answers["FINANCE"] == (True, True, False)
    # A null restores the table's answer for that function; the others stay.
    await client.mutate("updateEngagement", {"id": e, "requiredFunctions": {"legal": None}}, "")
    assert await missing() == table | {"QUALITY"}
    # A null list drops every override.
    await client.mutate("updateEngagement", {"id": e, "requiredFunctions": None}, "")
    assert await missing() == table
    assert all(not overridden for _, _, overridden in (await required()).values())
    # Given when the engagement is made.
    made = await client.mutate(
        "createEngagement",
        {
            "name": "Internal tooling",
            "clientId": ids["client"],
            "currency": "EUR",
            "inHouse": True,
            "requiredFunctions": {"delivery": False},
        },
        "engagement { requiredFunctions { function required overridden } }",
    )
    assert made["userErrors"] == []
    answers_made = {
        r["function"]: (r["required"], r["overridden"])
        for r in made["engagement"]["requiredFunctions"]
    }
    assert answers_made["DELIVERY"] == (False, True)
    assert answers_made["LEGAL"] == (False, False)
