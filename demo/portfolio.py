"""A sample portfolio to explore fourway with: clients, our firm, engagements whose sides
disagree in the ways real ones do, and one large engagement for read-path benchmarks.

Everything goes through the service functions, so the demo is held to the same validation
as any user. Dates hang off a fixed anchor (``ANCHOR``), not today, so every load is alike;
evaluate time-dependent rules ``as_of`` the anchor to see the picture as it was drawn.
The whole load is one transaction: it lands completely or not at all. Each engagement is
built in one unit of work (``services.core.units``), so the rules evaluate it once, complete,
rather than after each of its rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

from tortoise.transactions import in_transaction

from models import Engagement, Organization
from models.enums import (
    ChangeOrderStatus,
    DecisionModel,
    DeliverableStatus,
    EngagementFunction,
    EngagementStatus,
    OrganizationKind,
    Priority,
    Raci,
)
from services.core.audit import Actor, ActorKind, acting_as
from services.core.errors import Conflict
from services.core.units import creating
from services.engagements.change_orders import create_change_order
from services.engagements.deals import approve_deal
from services.engagements.deals import state_of as deal_state_of
from services.engagements.deliverables import create_deliverable
from services.engagements.engagements import create_engagement, update_engagement
from services.engagements.needs import create_need
from services.engagements.promises import create_promise
from services.engagements.purchases import create_purchase
from services.engagements.roles import create_role_assignment
from services.parties.organizations import create_organization
from services.parties.people import create_person


class DemoAlreadyLoaded(Conflict):
    """The portfolio is there already: loading it again would duplicate it."""


ANCHOR = date(2026, 9, 1)
"""The demo's 'today': every date in it is an offset in days from here."""

LARGE_ENGAGEMENT = "Nordic retail platform rollout"
FIRST_CLIENT = "Harbourline Logistics"

_F = EngagementFunction
_R = Raci
_S = DeliverableStatus
_CENT = Decimal("0.01")

Num = Decimal | str
"""A quantity or amount: a Decimal, or the string of one."""


def _day(offset: int) -> date:
    return ANCHOR + timedelta(days=offset)


def _at(offset: int, hour: int = 9) -> datetime:
    return datetime.combine(_day(offset), time(hour), tzinfo=UTC)


def _money(value: Decimal) -> Decimal:
    return value.quantize(_CENT, rounding=ROUND_HALF_UP)


@dataclass
class _Engagement:
    """An engagement being loaded, with the defaults its sides share."""

    id: int
    status: EngagementStatus
    seller: str
    lead: str
    contact: str  # the client's person who raises needs and accepts deliverables
    proposed: int
    signed: int
    contract_ref: str


@dataclass
class _Tally:
    clients: int = 0
    providers: int = 0
    people: int = 0
    engagements: int = 0
    roles: int = 0
    needs: int = 0
    promises: int = 0
    purchases: int = 0
    deliverables: int = 0
    change_orders: int = 0
    items: set[tuple[int, str]] = field(default_factory=set)

    def summary(self) -> str:
        return (
            f"Loaded the demo portfolio: {self.clients + self.providers} organizations "
            f"({self.clients} clients, {self.providers} provider), {self.people} people, "
            f"{self.engagements} engagements, {len(self.items)} scope items "
            f"({self.needs} needs, {self.promises} promises, {self.purchases} purchases, "
            f"{self.deliverables} deliverables, {self.change_orders} change orders), "
            f"{self.roles} role assignments."
        )


class _Loader:
    """Calls the services, resolving people by short keys and counting what it made."""

    def __init__(self) -> None:
        self.organizations: dict[str, int] = {}
        self.people: dict[str, int] = {}
        self.tally = _Tally()

    async def organization(self, key: str, name: str, kind: OrganizationKind) -> None:
        organization = await create_organization(name=name, kind=kind)
        self.organizations[key] = organization.id
        if kind == OrganizationKind.CLIENT:
            self.tally.clients += 1
        else:
            self.tally.providers += 1

    async def person(self, key: str, name: str, email: str, organization: str) -> None:
        person = await create_person(
            name=name, email=email, organization_id=self.organizations[organization]
        )
        self.people[key] = person.id
        self.tally.people += 1

    async def engagement(
        self,
        name: str,
        *,
        client: str,
        currency: str,
        seller: str,
        lead: str,
        contact: str,
        proposed: int,
        signed: int,
        contract_ref: str,
        roles: Sequence[tuple[str, EngagementFunction, Raci]],
        decision_model: DecisionModel = DecisionModel.AUTHORITY,
    ) -> _Engagement:
        engagement = (
            await create_engagement(
                name=name,
                client_id=self.organizations[client],
                currency=currency,
                decision_model=decision_model,
            )
        ).record
        self.tally.engagements += 1
        for person, function, raci in roles:
            await create_role_assignment(
                engagement_id=engagement.id,
                person_id=self.people[person],
                function=function,
                raci=raci,
            )
            self.tally.roles += 1
        return _Engagement(
            engagement.id,
            engagement.status,
            seller,
            lead,
            contact,
            proposed,
            signed,
            contract_ref,
        )

    async def approve(self, e: _Engagement, person: str, note: str | None = None) -> None:
        """Approve the engagement's deal as ``person`` (held to the decision table)."""
        with acting_as(Actor(ActorKind.SYSTEM, person_id=self.people[person])):
            await approve_deal(engagement_id=e.id, note=note)

    async def advance(self, e: _Engagement, target: EngagementStatus) -> None:
        """Walk the engagement forward one status at a time, as it would really go: the
        deal is approved by everyone its decision model waits for."""
        order = list(EngagementStatus)
        for status in order[order.index(e.status) + 1 : order.index(target) + 1]:
            if status is EngagementStatus.SOLD:
                model = (await Engagement.get(id=e.id)).decision_model
                for person_id in (await deal_state_of(e.id, model)).pending:
                    with acting_as(Actor(ActorKind.SYSTEM, person_id=person_id)):
                        await approve_deal(engagement_id=e.id)
                    if (await Engagement.get(id=e.id)).status is EngagementStatus.SOLD:
                        break
            else:
                await update_engagement(id=e.id, status=status)
            e.status = status

    async def need(
        self,
        e: _Engagement,
        item: str,
        description: str,
        priority: Priority,
        *,
        raised_by: str | None = None,
    ) -> None:
        await create_need(
            engagement_id=e.id,
            item=item,
            description=description,
            priority=priority,
            raised_by_id=self.people[raised_by or e.contact],
            validated_at=_at(e.proposed - 10),
        )
        self.tally.needs += 1
        self.tally.items.add((e.id, item))

    async def promise(
        self,
        e: _Engagement,
        item: str,
        description: str,
        quantity: Num,
        *,
        quoted: Num | None,
        promised: int | None = None,
        signed_off: bool = True,
    ) -> None:
        await create_promise(
            engagement_id=e.id,
            item=item,
            description=description,
            quantity=Decimal(quantity),
            made_by_id=self.people[e.seller],
            made_at=_at(e.proposed, 14),
            promised_date=None if promised is None else _day(promised),
            quoted_amount=None if quoted is None else Decimal(quoted),
            delivery_signoff_by_id=self.people[e.lead] if signed_off else None,
            delivery_signoff_at=_at(e.proposed - 2, 16) if signed_off else None,
        )
        self.tally.promises += 1
        self.tally.items.add((e.id, item))

    async def purchase(
        self,
        e: _Engagement,
        item: str,
        description: str,
        quantity: Num,
        amount: Num,
        *,
        estimated_cost: Num,
        due: int,
        line: int,
    ) -> None:
        await create_purchase(
            engagement_id=e.id,
            item=item,
            description=description,
            quantity=Decimal(quantity),
            amount=Decimal(amount),
            estimated_cost=Decimal(estimated_cost),
            due_date=_day(due),
            signed_at=_at(e.signed, 11),
            contract_ref=f"{e.contract_ref}/L{line:02d}",
        )
        self.tally.purchases += 1
        self.tally.items.add((e.id, item))

    async def deliverable(
        self,
        e: _Engagement,
        item: str,
        description: str,
        quantity: Num,
        *,
        due: int,
        status: DeliverableStatus,
        estimated_cost: Num | None = None,
        actual_cost: Num | None = None,
        delivered: int | None = None,
        accepted: int | None = None,
        rejection_reason: str | None = None,
    ) -> None:
        await create_deliverable(
            engagement_id=e.id,
            item=item,
            description=description,
            quantity=Decimal(quantity),
            due_date=_day(due),
            status=status,
            delivered_at=None if delivered is None else _at(delivered, 17),
            accepted_by_id=self.people[e.contact] if accepted is not None else None,
            accepted_at=None if accepted is None else _at(accepted, 10),
            rejection_reason=rejection_reason,
            estimated_cost=None if estimated_cost is None else Decimal(estimated_cost),
            actual_cost=None if actual_cost is None else Decimal(actual_cost),
        )
        self.tally.deliverables += 1
        self.tally.items.add((e.id, item))

    async def change_order(
        self,
        e: _Engagement,
        item: str,
        description: str,
        *,
        quantity_delta: Num,
        amount_delta: Num,
        cost_delta: Num,
        status: ChangeOrderStatus,
        approved_by: str | None = None,
        approved: int | None = None,
    ) -> None:
        await create_change_order(
            engagement_id=e.id,
            item=item,
            description=description,
            quantity_delta=Decimal(quantity_delta),
            amount_delta=Decimal(amount_delta),
            cost_delta=Decimal(cost_delta),
            status=status,
            approved_by_id=None if approved_by is None else self.people[approved_by],
            approved_at=None if approved is None else _at(approved, 15),
        )
        self.tally.change_orders += 1
        self.tally.items.add((e.id, item))


async def load_demo() -> str:
    """Load the sample portfolio and say what was loaded; refuse if it is already there."""
    async with in_transaction():
        if await Organization.filter(name=FIRST_CLIENT).exists():
            raise DemoAlreadyLoaded(None, "The demo portfolio is already loaded.")
        loader = _Loader()
        await _organizations_and_people(loader)
        for build in (
            _warehouse_system,
            _customs_automation,
            _claims_portal,
            _policy_migration,
            _field_service,
            _smart_meter_platform,
            _nordic_rollout,
        ):
            async with creating():
                await build(loader)
    return loader.tally.summary()


async def _organizations_and_people(load: _Loader) -> None:
    client = OrganizationKind.CLIENT
    await load.organization("harbourline", FIRST_CLIENT, client)
    await load.organization("cobalt", "Cobalt Bay Insurance", client)
    await load.organization("meridian", "Meridian Energy Services", client)
    await load.organization("kessel", "Stadtwerke Kessel", client)
    await load.organization("lindqvist", "Lindqvist Retail Group", client)
    await load.organization("northbeam", "Northbeam Consulting", OrganizationKind.PROVIDER)

    people = [
        # Our firm: sales, engagement management, project management, delivery, service.
        ("olivia", "Olivia Grant", "olivia.grant@northbeam.example", "northbeam"),
        ("marcus", "Marcus Feld", "marcus.feld@northbeam.example", "northbeam"),
        ("priya", "Priya Raman", "priya.raman@northbeam.example", "northbeam"),
        ("sofia", "Sofia Alvarez", "sofia.alvarez@northbeam.example", "northbeam"),
        ("hannah", "Hannah Berg", "hannah.berg@northbeam.example", "northbeam"),
        ("luca", "Luca Moretti", "luca.moretti@northbeam.example", "northbeam"),
        ("tomasz", "Tomasz Nowak", "tomasz.nowak@northbeam.example", "northbeam"),
        ("ines", "Ines Duarte", "ines.duarte@northbeam.example", "northbeam"),
        ("kenji", "Kenji Watanabe", "kenji.watanabe@northbeam.example", "northbeam"),
        ("daniel", "Daniel Okafor", "daniel.okafor@northbeam.example", "northbeam"),
        ("ruth", "Ruth Adeyemi", "ruth.adeyemi@northbeam.example", "northbeam"),
        # Clients: sponsors and the people who run the work on their side.
        ("fiona", "Fiona MacLeod", "fiona.macleod@harbourline.example", "harbourline"),
        ("gareth", "Gareth Price", "gareth.price@harbourline.example", "harbourline"),
        ("dana", "Dana Whitfield", "dana.whitfield@cobaltbay.example", "cobalt"),
        ("raj", "Raj Patel", "raj.patel@cobaltbay.example", "cobalt"),
        ("alistair", "Alistair Booth", "alistair.booth@meridian-energy.example", "meridian"),
        ("chloe", "Chloe Evans", "chloe.evans@meridian-energy.example", "meridian"),
        ("anja", "Anja Vogel", "anja.vogel@stadtwerke-kessel.example", "kessel"),
        ("jonas", "Jonas Richter", "jonas.richter@stadtwerke-kessel.example", "kessel"),
        ("karin", "Karin Holm", "karin.holm@lindqvist.example", "lindqvist"),
        ("mikael", "Mikael Virtanen", "mikael.virtanen@lindqvist.example", "lindqvist"),
    ]
    for key, name, email, organization in people:
        await load.person(key, name, email, organization)


async def _warehouse_system(load: _Loader) -> None:
    """Mid-delivery, with the classic troubles: over-promising, free work, a late integration
    and a rejected hand-over."""
    e = await load.engagement(
        "Warehouse management system replacement",
        client="harbourline",
        currency="GBP",
        seller="olivia",
        lead="tomasz",
        contact="fiona",
        proposed=-170,
        signed=-150,
        contract_ref="HBL-2026-014",
        roles=[
            ("olivia", _F.SALES, _R.RESPONSIBLE),
            ("sofia", _F.ENGAGEMENT_MANAGEMENT, _R.ACCOUNTABLE),
            ("hannah", _F.PROJECT_MANAGEMENT, _R.RESPONSIBLE),
            ("tomasz", _F.DELIVERY, _R.RESPONSIBLE),
            ("daniel", _F.CUSTOMER_SERVICE, _R.RESPONSIBLE),
            ("ruth", _F.FINANCE, _R.INFORMED),
            ("fiona", _F.SPONSOR, _R.ACCOUNTABLE),
            ("gareth", _F.FUNCTIONAL_MANAGEMENT, _R.CONSULTED),
        ],
    )
    await load.need(
        e,
        "wms-configuration",
        "Replace the ageing WMS at the Felixstowe and Daventry depots with a configured "
        "cloud WMS covering receiving, put-away, picking and dispatch.",
        Priority.MUST,
    )
    await load.need(
        e,
        "data-migration",
        "Move 11 years of stock, location and supplier master data into the new WMS "
        "without losing lot traceability.",
        Priority.MUST,
        raised_by="gareth",
    )
    await load.need(
        e,
        "scanner-integration",
        "Handheld scanners and label printers must work with the new WMS on day one.",
        Priority.MUST,
        raised_by="gareth",
    )
    await load.need(
        e,
        "staff-training",
        "Train 180 warehouse operatives across both depots before go-live.",
        Priority.SHOULD,
    )
    await load.need(
        e,
        "hypercare",
        "On-site support for the first weeks after go-live, including night shifts.",
        Priority.SHOULD,
    )
    await load.promise(
        e,
        "wms-configuration",
        "Configure the cloud WMS for both depots: receiving, put-away, picking, dispatch.",
        "60",
        quoted="57000.00",
        promised=-45,
    )
    # Mismatch: sales promised 40 days of migration; the contract bought 30.
    await load.promise(
        e,
        "data-migration",
        "Full migration of stock, locations and suppliers, lot history included.",
        "40",
        quoted="28500.00",
        promised=-60,
    )
    await load.promise(
        e,
        "scanner-integration",
        "Integrate the existing Zebra handhelds and label printers.",
        "20",
        quoted="19000.00",
        promised=-30,
    )
    await load.promise(
        e,
        "staff-training",
        "Train-the-trainer programme plus floor sessions for 180 operatives.",
        "12",
        quoted="10800.00",
        promised=-20,
    )
    # Mismatch: hypercare was promised to close the deal but never put on the contract.
    await load.promise(
        e,
        "hypercare",
        "Two weeks of on-site hypercare after go-live, nights included.",
        "10",
        quoted=None,
        promised=10,
    )
    await load.advance(e, EngagementStatus.SOLD)
    await load.purchase(
        e,
        "wms-configuration",
        "WMS configuration, two depots (fixed price, 60 consultant days)",
        "60",
        "57000.00",
        estimated_cost="39000.00",
        due=-45,
        line=1,
    )
    await load.purchase(
        e,
        "data-migration",
        "Data migration: stock, locations and suppliers (30 consultant days)",
        "30",
        "28500.00",
        estimated_cost="19500.00",
        due=-60,
        line=2,
    )
    await load.purchase(
        e,
        "scanner-integration",
        "Handheld scanner and label printer integration (20 days)",
        "20",
        "19000.00",
        estimated_cost="13000.00",
        due=-30,
        line=3,
    )
    await load.purchase(
        e,
        "staff-training",
        "Operative training, both depots (12 days)",
        "12",
        "10800.00",
        estimated_cost="7200.00",
        due=-20,
        line=4,
    )
    await load.advance(e, EngagementStatus.DELIVERING)
    await load.deliverable(
        e,
        "wms-configuration",
        "Configured WMS live at Felixstowe and Daventry",
        "60",
        due=-45,
        status=_S.ACCEPTED,
        estimated_cost="39000.00",
        actual_cost="40150.00",
        delivered=-47,
        accepted=-40,
    )
    await load.deliverable(
        e,
        "data-migration",
        "Migrated master data with lot history and reconciliation report",
        "30",
        due=-60,
        status=_S.ACCEPTED,
        estimated_cost="19500.00",
        actual_cost="24700.00",
        delivered=-58,
        accepted=-52,
    )
    # Mismatch: due a month ago and still in progress.
    await load.deliverable(
        e,
        "scanner-integration",
        "Scanner and label printer integration, tested on both depots",
        "20",
        due=-30,
        status=_S.IN_PROGRESS,
        estimated_cost="13000.00",
        actual_cost="11800.00",
    )
    # Mismatch: handed over, and the client said no.
    await load.deliverable(
        e,
        "staff-training",
        "Training materials and floor sessions for 180 operatives",
        "12",
        due=-20,
        status=_S.REJECTED,
        estimated_cost="7200.00",
        actual_cost="7900.00",
        delivered=-21,
        rejection_reason="The materials are in English only; most Felixstowe operatives need "
        "them in Polish and Romanian, and the floor sessions skipped the returns process.",
    )
    await load.deliverable(
        e,
        "hypercare",
        "On-site hypercare rota, first two weeks after go-live",
        "10",
        due=10,
        status=_S.PLANNED,
        estimated_cost="6500.00",
    )


async def _customs_automation(load: _Loader) -> None:
    """A proposal: needs heard and promises drafted, nothing bought yet, and the deal
    awaiting its second approval."""
    e = await load.engagement(
        "Customs declaration automation",
        client="harbourline",
        currency="GBP",
        seller="marcus",
        lead="ines",
        contact="fiona",
        proposed=-12,
        signed=0,
        contract_ref="HBL-2026-031",
        decision_model=DecisionModel.CONSENSUS,
        roles=[
            ("marcus", _F.SALES, _R.RESPONSIBLE),
            ("sofia", _F.ENGAGEMENT_MANAGEMENT, _R.ACCOUNTABLE),
            ("ines", _F.DELIVERY, _R.CONSULTED),
            ("fiona", _F.SPONSOR, _R.ACCOUNTABLE),
            ("gareth", _F.FUNCTIONAL_MANAGEMENT, _R.CONSULTED),
        ],
    )
    await load.need(
        e,
        "customs-rules-engine",
        "Generate post-Brexit import declarations automatically from shipment data.",
        Priority.MUST,
    )
    await load.need(
        e,
        "broker-api",
        "Exchange declarations with the customs broker over their API instead of email.",
        Priority.SHOULD,
        raised_by="gareth",
    )
    await load.need(
        e,
        "pilot-run",
        "Prove it on one trade lane before rolling out to all of them.",
        Priority.MUST,
    )
    await load.promise(
        e,
        "customs-rules-engine",
        "Rules engine covering the 40 most common commodity codes.",
        "45",
        quoted="42750.00",
        promised=120,
    )
    await load.promise(
        e,
        "broker-api",
        "Two-way integration with the broker's declaration API.",
        "15",
        quoted="14250.00",
        promised=120,
    )
    await load.promise(
        e,
        "pilot-run",
        "Six-week pilot on the Rotterdam to Felixstowe lane.",
        "10",
        quoted="9500.00",
        promised=160,
    )
    # Decided by consensus: the client's sponsor has approved the deal, engagement
    # management has not yet, so it stays PROPOSED awaiting the second approval.
    await load.approve(e, "fiona", note="Within the pilot budget.")


async def _claims_portal(load: _Loader) -> None:
    """Just sold: a discount given after the quote, a need nobody picked up, a promise
    delivery never saw, and nobody in customer service named."""
    e = await load.engagement(
        "Claims portal modernisation",
        client="cobalt",
        currency="USD",
        seller="priya",
        lead="kenji",
        contact="dana",
        proposed=-40,
        signed=-14,
        contract_ref="CBI-MSA-7/SOW-3",
        decision_model=DecisionModel.CONSENSUS,
        roles=[
            ("priya", _F.SALES, _R.RESPONSIBLE),
            ("sofia", _F.ENGAGEMENT_MANAGEMENT, _R.ACCOUNTABLE),
            ("luca", _F.PROJECT_MANAGEMENT, _R.RESPONSIBLE),
            ("kenji", _F.DELIVERY, _R.RESPONSIBLE),
            ("ruth", _F.FINANCE, _R.INFORMED),
            ("dana", _F.SPONSOR, _R.ACCOUNTABLE),
            ("raj", _F.FUNCTIONAL_MANAGEMENT, _R.CONSULTED),
        ],
    )
    await load.need(
        e,
        "claims-portal",
        "Policyholders file and track motor and home claims online, on any device.",
        Priority.MUST,
    )
    await load.need(
        e,
        "document-upload",
        "Claimants upload photos, invoices and police reports straight into the claim.",
        Priority.MUST,
        raised_by="raj",
    )
    await load.need(
        e,
        "sso-integration",
        "Sign-in with the existing customer identity provider.",
        Priority.SHOULD,
        raised_by="raj",
    )
    # Mismatch: the client needs it, nobody promised or sold it.
    await load.need(
        e,
        "fraud-scoring",
        "Flag suspicious claims at submission using the in-house fraud model.",
        Priority.MUST,
        raised_by="raj",
    )
    await load.promise(
        e,
        "claims-portal",
        "Responsive claims portal for motor and home, with status tracking.",
        "90",
        quoted="126000.00",
        promised=150,
    )
    # Mismatch: promised without delivery sign-off.
    await load.promise(
        e,
        "document-upload",
        "Unlimited document and photo upload with automatic virus scanning and OCR.",
        "25",
        quoted="35000.00",
        promised=120,
        signed_off=False,
    )
    # Mismatch: quoted at 48,000; the contract line says 42,000 after a late discount.
    await load.promise(
        e,
        "sso-integration",
        "Single sign-on with the customer identity provider (OIDC).",
        "30",
        quoted="48000.00",
        promised=90,
    )
    await load.advance(e, EngagementStatus.SOLD)
    await load.purchase(
        e,
        "claims-portal",
        "Claims portal build, motor and home (90 days)",
        "90",
        "126000.00",
        estimated_cost="81000.00",
        due=150,
        line=1,
    )
    await load.purchase(
        e,
        "document-upload",
        "Document and photo upload with virus scanning and OCR (25 days)",
        "25",
        "35000.00",
        estimated_cost="26500.00",
        due=120,
        line=2,
    )
    await load.purchase(
        e,
        "sso-integration",
        "OIDC single sign-on integration (30 days, 12.5% discount)",
        "30",
        "42000.00",
        estimated_cost="27000.00",
        due=90,
        line=3,
    )
    for item, description, quantity, due, cost in (
        ("claims-portal", "Claims portal, motor and home, in production", "90", 150, "81000.00"),
        ("document-upload", "Upload service with scanning and OCR", "25", 120, "26500.00"),
        ("sso-integration", "OIDC sign-in live for all policyholders", "30", 90, "27000.00"),
    ):
        await load.deliverable(
            e, item, description, quantity, due=due, status=_S.PLANNED, estimated_cost=cost
        )


async def _policy_migration(load: _Loader) -> None:
    """Closed and clean: what a good engagement looks like when it is done."""
    e = await load.engagement(
        "Policy administration data migration",
        client="cobalt",
        currency="USD",
        seller="priya",
        lead="ines",
        contact="dana",
        proposed=-420,
        signed=-400,
        contract_ref="CBI-MSA-7/SOW-1",
        roles=[
            ("priya", _F.SALES, _R.RESPONSIBLE),
            ("sofia", _F.ENGAGEMENT_MANAGEMENT, _R.ACCOUNTABLE),
            ("luca", _F.PROJECT_MANAGEMENT, _R.RESPONSIBLE),
            ("ines", _F.DELIVERY, _R.RESPONSIBLE),
            ("daniel", _F.CUSTOMER_SERVICE, _R.RESPONSIBLE),
            ("dana", _F.SPONSOR, _R.ACCOUNTABLE),
        ],
    )
    items = (
        (
            "data-migration",
            "Move 2.3 million policies off the mainframe policy system.",
            "Migrate all active and lapsed policies to the new platform",
            "Policy data migrated and reconciled",
            "80",
            "112000.00",
            "72000.00",
            "70400.00",
            -260,
        ),
        (
            "reconciliation-reports",
            "Prove to the auditors that premiums and balances match after the move.",
            "Reconciliation reports signed off by finance",
            "Premium and balance reconciliation pack",
            "15",
            "21000.00",
            "13500.00",
            "13950.00",
            -240,
        ),
        (
            "cutover-rehearsal",
            "Rehearse the cutover twice so the real weekend holds no surprises.",
            "Two full cutover rehearsals",
            "Cutover rehearsal reports (two runs)",
            "10",
            "14000.00",
            "9000.00",
            "8600.00",
            -280,
        ),
    )
    for item, need, scope, _, quantity, amount, _, _, due in items:
        await load.need(e, item, need, Priority.MUST, raised_by="raj")
        await load.promise(e, item, scope, quantity, quoted=amount, promised=due)
    await load.advance(e, EngagementStatus.SOLD)
    for line, (item, _, scope, done, quantity, amount, cost, actual, due) in enumerate(items, 1):
        await load.purchase(
            e, item, scope, quantity, amount, estimated_cost=cost, due=due, line=line
        )
        await load.deliverable(
            e,
            item,
            done,
            quantity,
            due=due,
            status=_S.ACCEPTED,
            estimated_cost=cost,
            actual_cost=actual,
            delivered=due - 3,
            accepted=due + 4,
        )
    await load.advance(e, EngagementStatus.CLOSED)


async def _field_service(load: _Loader) -> None:
    """In support: an approved change that moved the baseline, an overrun, and a dashboard
    built for the sponsor that nobody paid for. No engagement manager is named."""
    e = await load.engagement(
        "Field service scheduling",
        client="meridian",
        currency="GBP",
        seller="marcus",
        lead="kenji",
        contact="alistair",
        proposed=-320,
        signed=-300,
        contract_ref="MES-PO-88412",
        roles=[
            ("marcus", _F.SALES, _R.RESPONSIBLE),
            ("hannah", _F.PROJECT_MANAGEMENT, _R.ACCOUNTABLE),
            ("kenji", _F.DELIVERY, _R.RESPONSIBLE),
            ("daniel", _F.CUSTOMER_SERVICE, _R.RESPONSIBLE),
            ("alistair", _F.SPONSOR, _R.ACCOUNTABLE),
            ("chloe", _F.PROCUREMENT, _R.CONSULTED),
        ],
    )
    await load.need(
        e,
        "scheduling-engine",
        "Schedule 600 field engineers against meter and boiler jobs each morning.",
        Priority.MUST,
    )
    await load.need(
        e,
        "mobile-app",
        "Engineers see their day, capture job notes and photos, and work offline.",
        Priority.MUST,
    )
    await load.need(
        e,
        "route-optimisation",
        "Cut drive time between jobs by at least 10%.",
        Priority.SHOULD,
    )
    await load.need(
        e,
        "support-retainer",
        "Second-line support for the scheduling platform for a year after go-live.",
        Priority.MUST,
        raised_by="chloe",
    )
    await load.promise(
        e,
        "scheduling-engine",
        "Constraint-based daily scheduler for 600 engineers.",
        "70",
        quoted="66500.00",
        promised=-150,
    )
    # Promised 80 days; bought 60, then an approved change order added 20: they agree again.
    await load.promise(
        e,
        "mobile-app",
        "Offline-first engineer app with notes, photos and customer signatures.",
        "80",
        quoted="76000.00",
        promised=-120,
    )
    await load.promise(
        e,
        "route-optimisation",
        "Route optimisation between jobs, targeting 10% less drive time.",
        "40",
        quoted="38000.00",
        promised=-100,
    )
    await load.promise(
        e,
        "support-retainer",
        "Twelve months of second-line support, 4-hour response.",
        "48",
        quoted="36000.00",
        promised=200,
    )
    await load.advance(e, EngagementStatus.SOLD)
    lines = (
        ("scheduling-engine", "Daily scheduling engine (70 days)", "70", "66500.00", "45500.00"),
        ("mobile-app", "Engineer mobile app (60 days)", "60", "57000.00", "39000.00"),
        ("route-optimisation", "Route optimisation (40 days)", "40", "38000.00", "26000.00"),
        ("support-retainer", "Support retainer, 12 months (48 days)", "48", "36000.00", "24000.00"),
    )
    dues = {
        "scheduling-engine": -150,
        "mobile-app": -120,
        "route-optimisation": -100,
        "support-retainer": 200,
    }
    for line, (item, description, quantity, amount, cost) in enumerate(lines, 1):
        await load.purchase(
            e,
            item,
            description,
            quantity,
            amount,
            estimated_cost=cost,
            due=dues[item],
            line=line,
        )
    await load.advance(e, EngagementStatus.DELIVERING)
    # The baseline moves legitimately: the client asked for signatures and offline photos.
    await load.change_order(
        e,
        "mobile-app",
        "Add customer signature capture and offline photo sync (client request CR-04).",
        quantity_delta="20",
        amount_delta="19000.00",
        cost_delta="13000.00",
        status=ChangeOrderStatus.APPROVED,
        approved_by="alistair",
        approved=-200,
    )
    await load.deliverable(
        e,
        "scheduling-engine",
        "Scheduler live for all 600 engineers",
        "70",
        due=-150,
        status=_S.ACCEPTED,
        estimated_cost="45500.00",
        actual_cost="46900.00",
        delivered=-152,
        accepted=-145,
    )
    await load.deliverable(
        e,
        "mobile-app",
        "Engineer app in the stores, signatures and offline photos included",
        "80",
        due=-120,
        status=_S.ACCEPTED,
        estimated_cost="52000.00",
        actual_cost="53100.00",
        delivered=-123,
        accepted=-115,
    )
    # Mismatch: the optimiser needed a second data model; cost ran well past the estimate.
    await load.deliverable(
        e,
        "route-optimisation",
        "Route optimiser, 12% drive time reduction measured over four weeks",
        "40",
        due=-100,
        status=_S.ACCEPTED,
        estimated_cost="26000.00",
        actual_cost="41300.00",
        delivered=-96,
        accepted=-90,
    )
    # Mismatch: scope creep. Built at the sponsor's request; on no contract line.
    await load.deliverable(
        e,
        "executive-dashboard",
        "Executive dashboard of first-time fix rates, built at the sponsor's request",
        "8",
        due=-80,
        status=_S.DELIVERED,
        actual_cost="5600.00",
        delivered=-82,
    )
    await load.deliverable(
        e,
        "support-retainer",
        "Second-line support, months 1 to 12",
        "48",
        due=200,
        status=_S.IN_PROGRESS,
        estimated_cost="24000.00",
        actual_cost="9500.00",
    )
    await load.advance(e, EngagementStatus.SUPPORTING)


async def _smart_meter_platform(load: _Loader) -> None:
    """Sold thin: a margin of about 5%, a contract line nothing is planned for, and no
    sponsor named on the client side."""
    e = await load.engagement(
        "Smart meter data platform",
        client="kessel",
        currency="EUR",
        seller="olivia",
        lead="ines",
        contact="jonas",
        proposed=-110,
        signed=-90,
        contract_ref="SWK-V-2026-0417",
        decision_model=DecisionModel.CONSENSUS,
        roles=[
            ("olivia", _F.SALES, _R.RESPONSIBLE),
            ("sofia", _F.ENGAGEMENT_MANAGEMENT, _R.ACCOUNTABLE),
            ("luca", _F.PROJECT_MANAGEMENT, _R.RESPONSIBLE),
            ("ines", _F.DELIVERY, _R.RESPONSIBLE),
            ("daniel", _F.CUSTOMER_SERVICE, _R.RESPONSIBLE),
            ("jonas", _F.FUNCTIONAL_MANAGEMENT, _R.CONSULTED),
            ("anja", _F.LEGAL, _R.CONSULTED),
        ],
    )
    items = (
        (
            "meter-ingestion",
            "Ingest 15-minute readings from 210,000 smart meters.",
            "Streaming ingestion of smart meter readings",
            "Ingestion pipeline in production",
            "70",
            "84000.00",
            "79800.00",
            60,
        ),
        (
            "data-warehouse",
            "A warehouse the grid planners can query without waiting on IT.",
            "Consumption data warehouse with planner self-service",
            "Data warehouse and planner workspace",
            "60",
            "72000.00",
            "68400.00",
            120,
        ),
        (
            "billing-interface",
            "Feed validated consumption to the SAP IS-U billing system.",
            "Interface to SAP IS-U billing",
            "",
            "40",
            "48000.00",
            "45600.00",
            150,
        ),
        (
            "security-review",
            "Meet the BSI smart meter gateway protection profile.",
            "Security architecture review against the BSI profile",
            "Security review report and remediation plan",
            "30",
            "36000.00",
            "34200.00",
            45,
        ),
    )
    for item, need, scope, _, quantity, amount, _, due in items:
        await load.need(e, item, need, Priority.MUST)
        await load.promise(e, item, scope, quantity, quoted=amount, promised=due)
    await load.advance(e, EngagementStatus.SOLD)
    for line, (item, _, scope, done, quantity, amount, cost, due) in enumerate(items, 1):
        await load.purchase(
            e, item, scope, quantity, amount, estimated_cost=cost, due=due, line=line
        )
        # Mismatch: the billing interface is bought, and no deliverable plans it.
        if done:
            await load.deliverable(
                e,
                item,
                done,
                quantity,
                due=due,
                status=_S.IN_PROGRESS if due < 100 else _S.PLANNED,
                estimated_cost=cost,
            )
    await load.change_order(
        e,
        "meter-ingestion",
        "Add gas meters to the ingestion scope (awaiting the client's board).",
        quantity_delta="15",
        amount_delta="18000.00",
        cost_delta="17100.00",
        status=ChangeOrderStatus.PROPOSED,
    )
    await load.advance(e, EngagementStatus.DELIVERING)


_MARKETS = (
    # slug, country, stores, wave start (days from the anchor)
    ("se", "Sweden", 142, -150),
    ("no", "Norway", 88, -90),
    ("dk", "Denmark", 64, -30),
    ("fi", "Finland", 57, 40),
    ("is", "Iceland", 12, 110),
)
_WORKSTREAMS = (
    # slug, title, what the stores need, priority, base days, days per store
    (
        "store-network",
        "Store network upgrade",
        "resilient store networks",
        Priority.MUST,
        10,
        "0.2",
    ),
    (
        "pos-rollout",
        "Point-of-sale rollout",
        "new tills on the unified POS",
        Priority.MUST,
        15,
        "0.3",
    ),
    (
        "payment-gateway",
        "Payment gateway integration",
        "local card and mobile payment schemes",
        Priority.MUST,
        20,
        "0",
    ),
    (
        "inventory-sync",
        "Real-time inventory sync",
        "stock levels visible to every channel within a minute",
        Priority.MUST,
        18,
        "0.05",
    ),
    (
        "price-management",
        "Central price management",
        "prices and promotions set centrally in local currency",
        Priority.SHOULD,
        12,
        "0",
    ),
    (
        "data-migration",
        "Product and customer data migration",
        "products and loyalty members moved off the legacy ERP",
        Priority.MUST,
        14,
        "0.02",
    ),
    (
        "ecommerce-storefront",
        "Localised e-commerce storefront",
        "an online store in the local language",
        Priority.SHOULD,
        25,
        "0",
    ),
    (
        "click-and-collect",
        "Click-and-collect",
        "online orders picked up in store",
        Priority.SHOULD,
        8,
        "0.1",
    ),
    (
        "loyalty-integration",
        "Loyalty programme integration",
        "loyalty points earned and spent at the till and online",
        Priority.COULD,
        10,
        "0",
    ),
    ("staff-training", "Store staff training", "trained store staff", Priority.MUST, 4, "0.15"),
)
_DAY_RATE = Decimal("1180.00")
_COST_RATIO = Decimal("0.66")


async def _nordic_rollout(load: _Loader) -> None:
    """Large and orderly: 50 scope items (ten workstreams in five markets), every one with a
    need, a promise, a purchase and a deliverable. The read-path benchmark uses it."""
    e = await load.engagement(
        LARGE_ENGAGEMENT,
        client="lindqvist",
        currency="EUR",
        seller="olivia",
        lead="kenji",
        contact="karin",
        proposed=-230,
        signed=-200,
        contract_ref="LRG-2025-NRP",
        decision_model=DecisionModel.MAJORITY,
        roles=[
            ("olivia", _F.SALES, _R.RESPONSIBLE),
            ("marcus", _F.SALES, _R.CONSULTED),
            ("sofia", _F.ENGAGEMENT_MANAGEMENT, _R.ACCOUNTABLE),
            ("hannah", _F.PROJECT_MANAGEMENT, _R.RESPONSIBLE),
            ("kenji", _F.DELIVERY, _R.RESPONSIBLE),
            ("tomasz", _F.DELIVERY, _R.CONSULTED),
            ("luca", _F.QUALITY, _R.CONSULTED),
            ("daniel", _F.CUSTOMER_SERVICE, _R.RESPONSIBLE),
            ("ruth", _F.FINANCE, _R.INFORMED),
            ("karin", _F.SPONSOR, _R.ACCOUNTABLE),
            ("mikael", _F.FUNCTIONAL_MANAGEMENT, _R.CONSULTED),
        ],
    )
    plan = []
    for market, country, stores, wave in _MARKETS:
        for step, (stream, title, wanted, priority, base, per_store) in enumerate(_WORKSTREAMS):
            days = (base + Decimal(per_store) * stores).quantize(Decimal(1), ROUND_HALF_UP)
            amount = _money(days * _DAY_RATE)
            plan.append(
                (
                    f"{stream}-{market}",
                    f"{title}, {country} ({stores} stores)",
                    f"{country}: {wanted}.",
                    priority,
                    days,
                    amount,
                    _money(amount * _COST_RATIO),
                    wave + 10 * step,
                )
            )
    for item, title, wanted, priority, days, amount, _, due in plan:
        raiser = "karin" if priority == Priority.MUST else "mikael"
        await load.need(e, item, wanted, priority, raised_by=raiser)
        await load.promise(e, item, title, days, quoted=amount, promised=due)
    await load.advance(e, EngagementStatus.SOLD)
    for line, (item, title, _, _, days, amount, cost, due) in enumerate(plan, 1):
        await load.purchase(e, item, title, days, amount, estimated_cost=cost, due=due, line=line)
    await load.advance(e, EngagementStatus.DELIVERING)
    for index, (item, title, _, _, days, _, cost, due) in enumerate(plan):
        # Actual cost wobbles around the estimate, from 4% under to 7% over.
        actual = _money(cost * (Decimal("0.96") + Decimal(index % 12) / 100))
        if due <= -30:
            await load.deliverable(
                e,
                item,
                title,
                days,
                due=due,
                status=_S.ACCEPTED,
                estimated_cost=cost,
                actual_cost=actual,
                delivered=due - 2,
                accepted=due + 5,
            )
        elif due <= 0:
            await load.deliverable(
                e,
                item,
                title,
                days,
                due=due,
                status=_S.DELIVERED,
                estimated_cost=cost,
                actual_cost=actual,
                delivered=due - 1,
            )
        else:
            await load.deliverable(
                e,
                item,
                title,
                days,
                due=due,
                status=_S.IN_PROGRESS if due <= 45 else _S.PLANNED,
                estimated_cost=cost,
            )
