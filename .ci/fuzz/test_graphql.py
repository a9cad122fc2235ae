"""Fuzzes the GraphQL endpoint of a running fourway with schemathesis.

Run it through ``.ci/with-server`` (which gives FOURWAY_URL and FOURWAY_KEY)::

    .ci/with-server .venv/bin/python -m pytest .ci/fuzz -p no:cacheprovider

Every query and mutation gets FUZZ_EXAMPLES generated documents (valid and invalid ones),
drawn from FUZZ_SEED, so a run can be repeated exactly. Before that a small engagement is
made, and generated ids are drawn from its real ids as well as from noise, so mutations
reach the services instead of stopping at "not found".

A response fails when its status is 5xx, when it carries a masked unexpected error, or
when it breaks the schema it publishes (null in a non-null field, a body that is not a
GraphQL response). userErrors, validation errors and BAD_USER_INPUT are the service
doing its job.
"""

from __future__ import annotations

import base64
import datetime as dt
import os
from typing import Any

import requests
import schemathesis
from graphql import IntValueNode
from hypothesis import HealthCheck, Phase, seed, settings
from hypothesis import strategies as st
from schemathesis.graphql import nodes
from schemathesis.specs.graphql.validation import is_schema_violation

from api.core.errors import MASKED_MESSAGE

URL = os.environ["FOURWAY_URL"] + "/graphql"
AUTH = {"Authorization": f"Bearer {os.environ['FOURWAY_KEY']}"}
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "30"))
SEED = int(os.environ.get("FUZZ_SEED", "20261126"))


def _post(query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    response = requests.post(
        URL, json={"query": query, "variables": variables or {}}, headers=AUTH, timeout=30
    )
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body
    return body


def _create(name: str, input: dict[str, Any], field: str) -> str:
    """Run mutation ``name`` and return the global id of the ``field`` it made."""
    type_name = name[0].upper() + name[1:] + "Input"
    body = _post(
        f"mutation($input: {type_name}!) {{ {name}(input: $input) "
        f"{{ {field} {{ id }} userErrors {{ message }} }} }}",
        {"input": input},
    )
    payload = body["data"][name]
    assert payload["userErrors"] == [], payload
    return str(payload[field]["id"])


def _ids_in(value: object) -> set[str]:
    if isinstance(value, dict):
        found = {v for k, v in value.items() if k == "id" and isinstance(v, str)}
        return found.union(*(_ids_in(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(_ids_in(v) for v in value))
    return set()


def seed_engagement() -> list[str]:
    """One engagement with each of its sides, a plan, an endpoint and a delivery: their ids."""
    client = _create("createOrganization", {"name": "Acme", "kind": "CLIENT"}, "organization")
    firm = _create("createOrganization", {"name": "Firm", "kind": "PROVIDER"}, "organization")
    seller = _create(
        "createPerson",
        {"name": "Sam", "email": "sam@firm.example", "organizationId": firm},
        "person",
    )
    engagement = _create(
        "createEngagement", {"name": "ERP", "clientId": client, "currency": "EUR"}, "engagement"
    )
    # Sold the way a deal is: approved (here by the ADMIN key, which must say why).
    _create("approveDeal", {"engagementId": engagement, "note": "fuzzing"}, "engagement")
    side = {"engagementId": engagement, "item": "data-migration", "description": "Migrate"}
    _create("createNeed", {**side, "priority": "MUST"}, "need")
    _create("createPromise", {**side, "quantity": "10", "madeById": seller}, "promise")
    _create("createPurchase", {**side, "quantity": "8", "amount": "8000.00"}, "purchase")
    _create("createDeliverable", {**side, "quantity": "8"}, "deliverable")
    _create("createChangeOrder", {**side, "quantityDelta": "2"}, "changeOrder")
    _create(
        "createRoleAssignment",
        {
            "engagementId": engagement,
            "personId": seller,
            "function": "SALES",
            "raci": "RESPONSIBLE",
        },
        "roleAssignment",
    )
    _create(
        "createCommissionPlan",
        {"name": "Standard", "rateOnMargin": "0.10", "marginFloorPct": "0.20", "isDefault": True},
        "commissionPlan",
    )
    endpoint = _create(
        "createWebhookEndpoint",
        {"url": "http://127.0.0.1:9/never-sent", "eventTypes": ["alert.*"]},
        "webhookEndpoint",
    )
    _create("sendTestEvent", {"endpointId": endpoint}, "delivery")
    everything = _post(
        "{ engagements { edges { node { id client { id } roles { id person { id } } "
        "needs { edges { node { id } } } promises { edges { node { id } } } "
        "purchases { edges { node { id } } } deliverables { edges { node { id } } } "
        "changeOrders { edges { node { id } } } alerts { edges { node { id } } } "
        "compensationSignals { edges { node { id } } } } } } "
        "commissionPlans { id } webhookEndpoints { id } "
        "webhookDeliveries { edges { node { id } } } }"
    )
    return sorted(_ids_in(everything["data"]))


IDS = seed_engagement()

# Money and quantities: mostly what a client sends, then anything Decimal reads (huge
# exponents that overflow only later, many places, negative zero, other scripts' digits),
# then text it must refuse politely; integers past what int() reads among the literals.
schemathesis.graphql.scalar(
    "Decimal",
    st.one_of(
        st.decimals(min_value=-(10**9), max_value=10**9, places=2).map(str),
        st.decimals(allow_nan=False, allow_infinity=False).map(str),
        st.sampled_from(
            [
                "0",
                "-0",
                "-0.00",
                "1e3",
                "1E+30",
                "1E-30",
                " 12.50 ",
                "NaN",
                "-Infinity",
                "1e1000000",
                "-1e-1000000",
                "1e999999999999999999999",
                "\u0661\u0662\u0663",  # Arabic-Indic digits, which Decimal() reads
                "\uff11\uff12",  # full-width digits
                "1_000",
            ]
        ),
        st.text(max_size=12),
    ).map(nodes.String)
    | st.integers().map(nodes.Int)
    | st.just(IntValueNode(value="9" * 5000))
    | st.floats(allow_nan=False, allow_infinity=False).map(nodes.Float),
)
# Times: any instant with any offset (the ends of the range overflow in UTC), the ends
# themselves, and noise.
OFFSETS = st.integers(min_value=-(24 * 60 - 1), max_value=24 * 60 - 1).map(
    lambda minutes: dt.timezone(dt.timedelta(minutes=minutes))
)
schemathesis.graphql.scalar(
    "DateTime",
    st.one_of(
        st.builds(
            lambda moment, zone: moment.replace(tzinfo=zone).isoformat(), st.datetimes(), OFFSETS
        ),
        st.sampled_from(
            [
                "0001-01-01T00:00:00+14:00",
                "9999-12-31T23:59:59-14:00",
                "0001-01-01T00:00:00+00:00",
                "2026-11-26T09:00:00",
            ]
        ),
        st.text(max_size=30),
    ).map(nodes.String),
)
schemathesis.graphql.scalar(
    "Date", st.one_of(st.dates().map(dt.date.isoformat), st.text(max_size=12)).map(nodes.String)
)
# Text: any, then what no database stores (NUL; a lone surrogate, which only a variable can
# carry past the GraphQL lexer, so here it meets the lexer), and more than SQLite's LIKE
# takes in a search.
schemathesis.graphql.scalar(
    "String",
    st.one_of(
        st.text(),
        st.sampled_from(["\x00", "data\x00migration", "\ud800", "x\udfffy", "%" * 60_000]),
    ).map(nodes.String),
)
# Ids: the real ones, well-formed ones of each type with any number (none, negative, past
# 64 bits), and noise.
TYPES = sorted({base64.b64decode(id).decode().partition(":")[0] for id in IDS})
schemathesis.graphql.scalar(
    "ID",
    st.one_of(
        st.sampled_from(IDS),
        st.builds(
            lambda type_name, number: base64.b64encode(f"{type_name}:{number}".encode()).decode(),
            st.sampled_from(TYPES),
            st.integers(),
        ),
        st.text(max_size=24),
    ).map(nodes.String),
)

schema = schemathesis.graphql.from_url(URL, headers=AUTH)


def _failure(response: Any) -> str | None:
    """Why a response fails the run, or None when the service answered as it should."""
    if response.status_code >= 500:
        return f"HTTP {response.status_code}"
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code} with a body that is not JSON"
    if not isinstance(body, dict) or not ({"data", "errors"} & body.keys()):
        return "a body that is not a GraphQL response"
    errors = body.get("errors") or []
    if any(error.get("message") == MASKED_MESSAGE for error in errors):
        return "a masked unexpected error (see the server log for its traceback)"
    if is_schema_violation(errors):
        return "null in a non-null field"
    return None


@seed(SEED)
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,  # the same run every time: nothing remembered between runs
    phases=[Phase.explicit, Phase.generate, Phase.shrink],
    suppress_health_check=list(HealthCheck),
)
@schema.parametrize()
def test_no_server_error_and_no_unexpected_error(case: Any) -> None:
    response = case.call(headers=AUTH)
    failure = _failure(response)
    assert failure is None, f"{failure}:\n{case.as_curl_command(headers=AUTH)}\n{response.text}"
