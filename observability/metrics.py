"""The process's Prometheus metrics, in one registry served at ``/metrics``.

Counters and histograms are updated where things happen (a request, an evaluation, a
delivery attempt) and cost a lock and an addition each. Gauges that describe the
database (live alerts, the outbox backlog) are not kept here: ``/metrics`` reads them at
scrape time and hands them to :func:`exposition`.

Each process has its own registry: with several ``fourway serve`` or ``fourway worker``
processes, Prometheus scrapes each one and sums across them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

CONTENT_TYPE = CONTENT_TYPE_LATEST

# A `_created` timestamp beside every series doubles the output and no query here uses it.
disable_created_metrics()  # type: ignore[no-untyped-call]

REGISTRY = CollectorRegistry()
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)
GCCollector(registry=REGISTRY)

# Rules take 1-2 ms per engagement; deliveries and requests are measured in the defaults.
_FAST_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)

HTTP_REQUESTS = Counter(
    "fourway_http_requests",
    "HTTP requests answered, by method, route and status code.",
    ["method", "route", "status"],
    registry=REGISTRY,
)
HTTP_DURATION = Histogram(
    "fourway_http_request_duration_seconds",
    "Time from a request's arrival to the end of its response, by method and route.",
    ["method", "route"],
    registry=REGISTRY,
)
GRAPHQL_OPERATIONS = Counter(
    "fourway_graphql_operations",
    "GraphQL operations run, by operation name (or 'anonymous', or 'other' past the cap), "
    "type (query, mutation, subscription, unknown) and whether the result had errors.",
    ["operation", "type", "errors"],
    registry=REGISTRY,
)
GRAPHQL_DURATION = Histogram(
    "fourway_graphql_operation_duration_seconds",
    "Time to parse, validate and execute a GraphQL operation, by operation name and type.",
    ["operation", "type"],
    registry=REGISTRY,
)
RULE_EVALUATIONS = Counter(
    "fourway_rule_evaluations",
    "Engagements evaluated by the rules, by result (ok, or failed: the engagement kept its "
    "alerts and shows evaluationError).",
    ["result"],
    registry=REGISTRY,
)
RULE_DURATION = Histogram(
    "fourway_rule_evaluation_duration_seconds",
    "Time the rules engine took to evaluate one engagement's snapshot.",
    buckets=_FAST_BUCKETS,
    registry=REGISTRY,
)
WEBHOOK_ATTEMPTS = Counter(
    "fourway_webhook_delivery_attempts",
    "Webhook delivery attempts, by outcome: delivered (2xx), failed (retried later), "
    "gave_up (the last retry failed: the delivery is FAILED), refused (not sent: the URL "
    "resolves to a private address).",
    ["outcome"],
    registry=REGISTRY,
)
WEBHOOK_DURATION = Histogram(
    "fourway_webhook_delivery_attempt_duration_seconds",
    "Time one webhook POST took, from sending to the answer's first kilobyte or failure.",
    registry=REGISTRY,
)
DECISIONS_REFUSED = Counter(
    "fourway_decisions_refused",
    "Decisions the decision table refused (nothing was written), by userError code "
    "(FORBIDDEN, CONFLICT_OF_INTEREST) and decision rule.",
    ["code", "decision"],
    registry=REGISTRY,
)

RESULT_CACHE_HITS = Counter(
    "fourway_result_cache_hits",
    "GraphQL reads answered from the result cache, without running them.",
    registry=REGISTRY,
)
RESULT_CACHE_MISSES = Counter(
    "fourway_result_cache_misses",
    "GraphQL reads the result cache could have answered but did not hold (they ran).",
    registry=REGISTRY,
)
RESULT_CACHE_EVICTIONS = Counter(
    "fourway_result_cache_evictions",
    "Answers dropped from the result cache to stay within FOURWAY_RESULT_CACHE_BYTES.",
    registry=REGISTRY,
)
RESULT_CACHE_BYTES = Gauge(
    "fourway_result_cache_bytes",
    "Bytes the result cache holds now (answers and their keys).",
    registry=REGISTRY,
)

OUTCOMES = ("delivered", "failed", "gave_up", "refused")
for _outcome in OUTCOMES:
    WEBHOOK_ATTEMPTS.labels(_outcome)  # every outcome shows, at zero until it happens
for _result in ("ok", "failed"):
    RULE_EVALUATIONS.labels(_result)


MAX_OPERATION_NAMES = 100
"""Distinct operation names given labels of their own; later ones count as ``other``."""

_OPERATION_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]{0,63}\Z")


class OperationNames:
    """Turns client-chosen operation names into a bounded set of label values: the first
    ``limit`` distinct well-formed names (GraphQL names of at most 64 characters) keep
    their own; any other is ``other``, and an unnamed operation is ``anonymous``."""

    def __init__(self, limit: int = MAX_OPERATION_NAMES) -> None:
        self.limit = limit
        self._seen: set[str] = set()

    @staticmethod
    def well_formed(name: str) -> bool:
        return _OPERATION_NAME.match(name) is not None

    def label(self, name: str | None) -> str:
        if name is None:
            return "anonymous"
        if name in self._seen:
            return name
        if len(self._seen) >= self.limit or not self.well_formed(name):
            return "other"
        self._seen.add(name)
        return name


OPERATION_NAMES = OperationNames()


@dataclass(frozen=True)
class DatabaseGauges:
    """What the database says at scrape time."""

    live_alerts: dict[str, int] = field(default_factory=dict)
    """Alerts OPEN or ACKNOWLEDGED, by severity."""
    pending_deliveries: int = 0
    oldest_pending_age_seconds: float = 0.0
    """How long ago the event of the oldest pending delivery occurred (0 when none)."""


class _Scrape:
    """The registry plus this scrape's database gauges, as one collector."""

    def __init__(self, gauges: DatabaseGauges | None) -> None:
        self.gauges = gauges

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()
        if self.gauges is None:
            return  # the database did not answer: no value rather than a stale one
        alerts = GaugeMetricFamily(
            "fourway_alerts_live",
            "Alerts OPEN or ACKNOWLEDGED now, by severity.",
            labels=["severity"],
        )
        for severity, count in sorted(self.gauges.live_alerts.items()):
            alerts.add_metric([severity], count)
        yield alerts
        yield GaugeMetricFamily(
            "fourway_webhook_deliveries_pending",
            "Webhook deliveries not yet delivered nor given up (due now or waiting to retry).",
            value=self.gauges.pending_deliveries,
        )
        yield GaugeMetricFamily(
            "fourway_webhook_oldest_pending_delivery_age_seconds",
            "Seconds since the event of the oldest pending webhook delivery occurred "
            "(0 when none is pending).",
            value=self.gauges.oldest_pending_age_seconds,
        )


def exposition(gauges: DatabaseGauges | None) -> bytes:
    """The text ``/metrics`` answers: every metric of this process, and ``gauges`` (left
    out when None)."""
    return generate_latest(_Scrape(gauges))
