"""Persistence: Tortoise models and the database configuration, nothing else.

Tortoise discovers the models through this package (app label ``fourway``).
"""

from models.alert import Alert
from models.api_key import ApiKey
from models.audit import AuditEntry
from models.change_order import ChangeOrder
from models.compensation import (
    CommissionPlan,
    CommissionPlanVersion,
    CompensationPeriod,
    CompensationSignal,
    Credit,
    PlanAssignment,
    Sale,
)
from models.deal_approval import DealApproval
from models.decision_taken import DecisionTaken
from models.deliverable import Deliverable
from models.engagement import Engagement
from models.event import Event
from models.need import Need
from models.organization import Organization
from models.person import Person
from models.promise import Promise
from models.purchase import Purchase
from models.role_assignment import RoleAssignment
from models.webhook import DeliveryAttempt, WebhookDelivery, WebhookEndpoint

__all__ = [
    "Alert",
    "ApiKey",
    "AuditEntry",
    "ChangeOrder",
    "CommissionPlan",
    "CommissionPlanVersion",
    "CompensationPeriod",
    "CompensationSignal",
    "Credit",
    "DealApproval",
    "DecisionTaken",
    "Deliverable",
    "DeliveryAttempt",
    "Engagement",
    "Event",
    "Need",
    "Organization",
    "Person",
    "PlanAssignment",
    "Promise",
    "Purchase",
    "RoleAssignment",
    "Sale",
    "WebhookDelivery",
    "WebhookEndpoint",
]
