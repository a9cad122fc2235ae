"""Alerts, the rule catalogue, and what people do with alerts."""

from __future__ import annotations

import datetime as dt
from typing import Any

import strawberry
from strawberry.scalars import JSON

from api.core.enums import AlertStatus, Severity
from api.core.inputs import check_filter
from api.core.mutations import mutation, mutation_type, payload_type
from api.core.presented import FromRow
from api.core.relay import AlertId, Connection, Node, filter_id, page_of_query, window
from api.engagements.on_engagement import OnEngagement
from models import Alert as AlertModel
from rules.catalogue import CATALOGUE
from services.alerts import alerts as service
from services.alerts.evaluation import thresholds


@strawberry.type(description="A finding of the rules, kept open while its facts hold.")
class Alert(Node, OnEngagement):
    model = AlertModel  # the rows node(id:) loads (api.core.relay.Node)
    rule_id: str
    severity: Severity
    status: AlertStatus
    item: str | None
    message: str
    facts: JSON = strawberry.field(description="The facts that caused it, by name.")
    opened_at: dt.datetime
    acknowledged_at: dt.datetime | None
    comment: str | None = strawberry.field(description="What the acknowledger said.")
    resolved_at: dt.datetime | None
    resolution: str | None = strawberry.field(description="Why it resolved.")
    waived_at: dt.datetime | None
    waiver_reason: str | None

    from_model = FromRow(AlertModel)


@strawberry.type(description="A rule of the catalogue and the thresholds it reads now.")
class Rule:
    id: str
    severity: Severity
    description: str
    stakeholder: str = strawberry.field(
        description="Whose satisfaction it speaks to: client, sponsor, performers or process."
    )
    thresholds: JSON = strawberry.field(description="The thresholds it reads, by name.")


@strawberry.input(description="Which alerts to list; every given condition must hold.")
class AlertFilter:
    engagement_id: strawberry.ID | None = None
    severity: list[Severity] | None = None
    status: list[AlertStatus] | None = None
    rule_id: str | None = None
    item: str | None = None
    opened_after: dt.datetime | None = None
    opened_before: dt.datetime | None = None


def _filtered(f: AlertFilter | None) -> Any:
    check_filter(f)
    if f is None:
        return service.alerts_matching(service.AlertCriteria())
    return service.alerts_matching(
        service.AlertCriteria(
            engagement_id=None
            if f.engagement_id is None
            else filter_id(f.engagement_id, "Engagement", "engagementId"),
            severity=tuple(f.severity) if f.severity else None,
            status=tuple(f.status) if f.status else None,
            rule_id=f.rule_id,
            item=f.item,
            opened_after=f.opened_after,
            opened_before=f.opened_before,
        )
    )


async def alerts_page(
    f: AlertFilter | None,
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
) -> Connection[Alert]:
    return await page_of_query(_filtered(f), window(first, after, last, before), Alert.from_model)


@strawberry.type
class AlertQuery:
    @strawberry.field(description="Alerts, oldest first, filtered.")
    async def alerts(
        self,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        filter: AlertFilter | None = None,
    ) -> Connection[Alert]:
        return await alerts_page(filter, first, after, last, before)

    @strawberry.field(description="The rule catalogue, with the thresholds in force.")
    def rules(self) -> list[Rule]:
        current = thresholds().values()
        return [
            Rule(
                id=spec.id,
                severity=Severity(spec.severity),
                description=spec.description,
                stakeholder=spec.stakeholder,
                thresholds=JSON({name: str(current[name]) for name in spec.thresholds}),
            )
            for spec in CATALOGUE
        ]


@strawberry.input(description="Say an alert is seen and being handled.")
class AcknowledgeAlertInput:
    id: AlertId
    comment: str


@strawberry.input(description="Close an alert on purpose, with the reason.")
class WaiveAlertInput:
    id: AlertId
    reason: str


AlertMutation = mutation_type(
    "AlertMutation",
    {
        "acknowledge_alert": mutation(
            input_type=AcknowledgeAlertInput,
            payload=payload_type("AcknowledgeAlert", "alert", Alert),
            field="alert",
            service=service.acknowledge_alert,
            build=Alert.from_model,
            description="Acknowledge a live alert; it stays live until its facts change.",
        ),
        "waive_alert": mutation(
            input_type=WaiveAlertInput,
            payload=payload_type("WaiveAlert", "alert", Alert),
            field="alert",
            service=service.waive_alert,
            build=Alert.from_model,
            description="Waive a live alert: closed until the facts it is about change.",
        ),
    },
)
