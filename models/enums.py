"""The closed vocabularies the models store (as their names, in upper snake case)."""

from enum import StrEnum


class OrganizationKind(StrEnum):
    CLIENT = "CLIENT"
    PROVIDER = "PROVIDER"


class EngagementStatus(StrEnum):
    PROPOSED = "PROPOSED"
    SOLD = "SOLD"
    DELIVERING = "DELIVERING"
    SUPPORTING = "SUPPORTING"
    CLOSED = "CLOSED"


class DecisionModel(StrEnum):
    AUTHORITY = "AUTHORITY"
    CONSENSUS = "CONSENSUS"
    MAJORITY = "MAJORITY"


class EngagementFunction(StrEnum):
    SALES = "SALES"
    ENGAGEMENT_MANAGEMENT = "ENGAGEMENT_MANAGEMENT"
    PROJECT_MANAGEMENT = "PROJECT_MANAGEMENT"
    DELIVERY = "DELIVERY"
    FUNCTIONAL_MANAGEMENT = "FUNCTIONAL_MANAGEMENT"
    PROCUREMENT = "PROCUREMENT"
    LEGAL = "LEGAL"
    QUALITY = "QUALITY"
    CUSTOMER_SERVICE = "CUSTOMER_SERVICE"
    FINANCE = "FINANCE"
    SPONSOR = "SPONSOR"


class Raci(StrEnum):
    RESPONSIBLE = "RESPONSIBLE"
    ACCOUNTABLE = "ACCOUNTABLE"
    CONSULTED = "CONSULTED"
    INFORMED = "INFORMED"


class Priority(StrEnum):
    MUST = "MUST"
    SHOULD = "SHOULD"
    COULD = "COULD"


class DeliverableStatus(StrEnum):
    PLANNED = "PLANNED"
    IN_PROGRESS = "IN_PROGRESS"
    DELIVERED = "DELIVERED"
    ACCEPTED = "ACCEPTED"
    REJECTED = "REJECTED"


class ChangeOrderStatus(StrEnum):
    PROPOSED = "PROPOSED"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"


class Severity(StrEnum):
    INFO = "INFO"
    WARNING = "WARNING"
    CRITICAL = "CRITICAL"


class AlertStatus(StrEnum):
    OPEN = "OPEN"
    ACKNOWLEDGED = "ACKNOWLEDGED"
    RESOLVED = "RESOLVED"
    WAIVED = "WAIVED"


class SignalKind(StrEnum):
    BOOKED = "BOOKED"
    HELD = "HELD"
    RELEASED = "RELEASED"
    ADJUSTED = "ADJUSTED"


class DeliveryStatus(StrEnum):
    PENDING = "PENDING"
    DELIVERED = "DELIVERED"
    FAILED = "FAILED"


class Role(StrEnum):
    """What an API key may do (see the access table in the README)."""

    ADMIN = "ADMIN"
    FINANCE = "FINANCE"
    SALES = "SALES"
    DELIVERY = "DELIVERY"
    VIEWER = "VIEWER"
