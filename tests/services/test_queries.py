"""The read side as services: which engagements, alerts and ledger entries a set of criteria
selects, and each party's verdict, called directly (GraphQL and the CSV export translate
their inputs into these)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from models import Alert
from models.enums import (
    AlertStatus,
    EngagementFunction,
    EngagementStatus,
    OrganizationKind,
    Raci,
    Severity,
)
from services.alerts.alerts import AlertCriteria, alerts_matching
from services.compensation.statements import EntryCriteria, entries_matching
from services.engagements.engagements import (
    EngagementCriteria,
    create_engagement,
    engagements_matching,
)
from services.engagements.health import health
from services.engagements.promises import create_promise
from services.engagements.purchases import create_purchase
from services.engagements.roles import create_role_assignment
from services.parties.organizations import create_organization
from services.parties.people import create_person


async def _portfolio() -> dict[str, int]:
    acme = await create_organization(name="Acme", kind=OrganizationKind.CLIENT)
    initech = await create_organization(name="Initech", kind=OrganizationKind.CLIENT)
    firm = await create_organization(name="Firm", kind=OrganizationKind.PROVIDER)
    sam = await create_person(name="Sam", email="sam@firm.example", organization_id=firm.id)
    ada = await create_person(name="Ada", email="ada@firm.example", organization_id=firm.id)
    erp = (await create_engagement(name="ERP rollout", client_id=acme.id, currency="EUR")).record
    crm = (await create_engagement(name="CRM rollout", client_id=initech.id, currency="EUR")).record
    audit = (await create_engagement(name="Audit", client_id=acme.id, currency="EUR")).record
    await create_role_assignment(
        engagement_id=erp.id,
        person_id=sam.id,
        function=EngagementFunction.SALES,
        raci=Raci.ACCOUNTABLE,
    )
    await create_promise(
        engagement_id=crm.id,
        item="gateway",
        description="Payment gateway",
        quantity=Decimal(1),
        made_by_id=ada.id,
    )
    await create_purchase(
        engagement_id=audit.id,
        item="gateway",
        description="Payment gateway",
        quantity=Decimal(1),
        amount=Decimal(100),
    )
    return {
        "acme": acme.id,
        "sam": sam.id,
        "ada": ada.id,
        "erp": erp.id,
        "crm": crm.id,
        "audit": audit.id,
    }


async def _names(criteria: EngagementCriteria) -> list[str]:
    return sorted(await engagements_matching(criteria).values_list("name", flat=True))


async def test_engagements_are_selected_by_each_criterion_and_all_of_them(database_url):
    ids = await _portfolio()
    assert await _names(EngagementCriteria()) == ["Audit", "CRM rollout", "ERP rollout"]
    assert await _names(EngagementCriteria(client_id=ids["acme"])) == ["Audit", "ERP rollout"]
    # A salesperson sells what they hold SALES on, and what they made a promise on.
    assert await _names(EngagementCriteria(salesperson_id=ids["sam"])) == ["ERP rollout"]
    assert await _names(EngagementCriteria(salesperson_id=ids["ada"])) == ["CRM rollout"]
    assert await _names(EngagementCriteria(item="gateway")) == ["Audit", "CRM rollout"]
    assert await _names(EngagementCriteria(search="ROLLOUT")) == ["CRM rollout", "ERP rollout"]
    assert await _names(EngagementCriteria(status=(EngagementStatus.SOLD,))) == []
    both = EngagementCriteria(client_id=ids["acme"], item="gateway")
    assert await _names(both) == ["Audit"]


async def test_alerts_are_selected_by_each_criterion(database_url):
    ids = await _portfolio()
    everything = await alerts_matching(AlertCriteria()).count()
    on_crm = alerts_matching(AlertCriteria(engagement_id=ids["crm"]))
    assert 0 < await on_crm.count() < everything
    assert {a.engagement_id for a in await on_crm} == {ids["crm"]}
    unsigned = AlertCriteria(rule_id="promise-without-signoff", item="gateway")
    assert [a.engagement_id for a in await alerts_matching(unsigned)] == [ids["crm"]]
    critical = await alerts_matching(AlertCriteria(severity=(Severity.CRITICAL,)))
    assert critical and all(a.severity == Severity.CRITICAL for a in critical)
    assert await alerts_matching(AlertCriteria(status=(AlertStatus.WAIVED,))).count() == 0
    later = datetime.now(UTC) + timedelta(minutes=1)
    assert await alerts_matching(AlertCriteria(opened_after=later)).count() == 0
    assert await alerts_matching(AlertCriteria(opened_before=later)).count() == everything


async def test_no_entries_are_selected_for_a_month_without_any(database_url):
    await _portfolio()
    assert await entries_matching(EntryCriteria(period="2020-01")).count() == 0


def _alert(rule_id: str, severity: Severity, message: str) -> Alert:
    return Alert(rule_id=rule_id, severity=severity, message=message)


def test_each_party_is_satisfied_until_an_alert_speaks_against_it():
    made = health(
        [
            _alert("price-mismatch", Severity.WARNING, "quoted 10, bought for 9"),
            _alert("deliverable-overdue", Severity.CRITICAL, "report is overdue"),
            _alert("no-sponsor", Severity.WARNING, "nobody sponsors it"),
        ]
    )
    assert made.open_alerts == {Severity.INFO: 0, Severity.WARNING: 2, Severity.CRITICAL: 1}
    assert made.verdicts["client"].reasons == ("quoted 10, bought for 9",)
    assert made.verdicts["performers"].reasons == ("report is overdue",)
    assert made.verdicts["sponsor"].satisfied and made.verdicts["sponsor"].reasons == ()
    assert not made.verdicts["client"].satisfied
