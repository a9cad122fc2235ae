"""Global ids, node lookup, and cursor pagination."""

import pytest

from tests.support import seed_engagement

PAGE = (
    "query($first: Int, $after: String, $last: Int, $before: String) { "
    "organizations(first: $first, after: $after, last: $last, before: $before) { totalCount "
    "pageInfo { hasNextPage hasPreviousPage startCursor endCursor } "
    "edges { cursor node { name } } } }"
)


async def _organizations(client, count: int) -> None:
    for n in range(count):
        payload = await client.mutate(
            "createOrganization", {"name": f"Org {n:02}", "kind": "CLIENT"}, "organization { id }"
        )
        assert payload["userErrors"] == []


async def test_node_finds_any_object_by_its_global_id(client):
    ids = await seed_engagement(client)
    data = await client.data(
        "query($ids: [ID!]!) { nodes(ids: $ids) { __typename id "
        "... on Person { email } ... on Engagement { name } } }",
        {"ids": [ids["seller"], ids["engagement"]]},
    )
    assert data["nodes"] == [
        {"__typename": "Person", "id": ids["seller"], "email": "sam@fourway.example"},
        {"__typename": "Engagement", "id": ids["engagement"], "name": "ERP rollout"},
    ]


async def test_engagement_by_the_id_of_another_type_is_null(client):
    ids = await seed_engagement(client)
    data = await client.data(
        "query($id: ID!) { engagement(id: $id) { id } }", {"id": ids["seller"]}
    )
    assert data == {"engagement": None}


async def test_a_well_formed_id_of_nothing_is_null_without_error(client):
    company_1 = "Q29tcGFueTox"  # "Company:1": no such type here
    body = await client.execute("query($id: ID!) { node(id: $id) { id } }", {"id": company_1})
    assert body["data"] == {"node": None}
    assert "errors" not in body


@pytest.mark.parametrize("bad_id", ["nonsense", "RW5nYWdlbWVudDotMQ==", "", "RW5nYWdlbWVudDow"])
async def test_a_malformed_global_id_is_a_bad_user_input_error(client, bad_id):
    body = await client.execute("query($id: ID!) { node(id: $id) { id } }", {"id": bad_id})
    assert body["data"] == {"node": None}
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT"}
    assert "is not a valid id" in body["errors"][0]["message"]
    assert "Traceback" not in str(body)


async def test_pages_walk_forward_and_back_with_cursors(client):
    await _organizations(client, 5)
    first = (await client.data(PAGE, {"first": 2}))["organizations"]
    assert [e["node"]["name"] for e in first["edges"]] == ["Org 00", "Org 01"]
    assert first["totalCount"] == 5
    assert first["pageInfo"]["hasNextPage"] is True
    assert first["pageInfo"]["hasPreviousPage"] is False
    second = (await client.data(PAGE, {"first": 2, "after": first["pageInfo"]["endCursor"]}))[
        "organizations"
    ]
    assert [e["node"]["name"] for e in second["edges"]] == ["Org 02", "Org 03"]
    assert second["pageInfo"]["hasPreviousPage"] is True
    last = (await client.data(PAGE, {"first": 2, "after": second["pageInfo"]["endCursor"]}))[
        "organizations"
    ]
    assert [e["node"]["name"] for e in last["edges"]] == ["Org 04"]
    assert last["pageInfo"]["hasNextPage"] is False
    back = (await client.data(PAGE, {"last": 2, "before": last["pageInfo"]["startCursor"]}))[
        "organizations"
    ]
    assert [e["node"]["name"] for e in back["edges"]] == ["Org 02", "Org 03"]
    assert back["pageInfo"]["hasPreviousPage"] is True
    assert back["pageInfo"]["hasNextPage"] is True
    tail = (await client.data(PAGE, {"last": 1}))["organizations"]
    assert [e["node"]["name"] for e in tail["edges"]] == ["Org 04"]


async def test_the_default_page_holds_twenty(client):
    await _organizations(client, 21)
    page = (await client.data(PAGE))["organizations"]
    assert len(page["edges"]) == 20
    assert page["totalCount"] == 21
    assert page["pageInfo"]["hasNextPage"] is True


async def test_nested_connections_page_the_same_way(client):
    ids = await seed_engagement(client)
    for item in ("a", "b", "c"):
        await client.mutate(
            "createNeed",
            {
                "engagementId": ids["engagement"],
                "item": item,
                "description": "d",
                "priority": "MUST",
            },
            "need { id }",
        )
    query = (
        "query($id: ID!, $after: String) { engagement(id: $id) { needs(first: 2, after: $after) "
        "{ totalCount pageInfo { hasNextPage endCursor } edges { node { item } } } } }"
    )
    page = (await client.data(query, {"id": ids["engagement"]}))["engagement"]["needs"]
    assert [e["node"]["item"] for e in page["edges"]] == ["a", "b"]
    assert page["totalCount"] == 3 and page["pageInfo"]["hasNextPage"] is True
    rest = (
        await client.data(query, {"id": ids["engagement"], "after": page["pageInfo"]["endCursor"]})
    )["engagement"]["needs"]
    assert [e["node"]["item"] for e in rest["edges"]] == ["c"]
    assert rest["pageInfo"]["hasNextPage"] is False


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"first": 101}, "`first` must be between 0 and 100"),
        ({"last": 500}, "`last` must be between 0 and 100"),
        ({"first": -1}, "`first` must be between 0 and 100"),
        ({"first": 1, "last": 1}, "Pass `first` or `last`, not both."),
        ({"after": "garbage!"}, "`after` is not a cursor this API gave out."),
        ({"before": "T3JnYW5pemF0aW9uOjE="}, "`before` is not a cursor this API gave out."),
    ],
)
async def test_bad_page_arguments_are_refused_with_a_clear_message(client, arguments, message):
    body = await client.execute(PAGE, arguments)
    assert body["data"] is None
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT"}
    assert body["errors"][0]["message"].startswith(message)


async def test_graphql_get_serves_queries_and_refuses_mutations(client):
    response = await client.http.get("/graphql", params={"query": "{ __typename }"})
    assert response.status_code == 200
    assert response.json()["data"] == {"__typename": "Query"}
    refused = await client.http.get(
        "/graphql",
        params={"query": 'mutation { deleteEngagement(input: {id: "x"}) { deletedId } }'},
    )
    # GraphQL over HTTP: a mutation over GET is 405 Method Not Allowed, whatever is accepted.
    assert refused.status_code == 405 and refused.headers["allow"] == "POST"


async def test_graphiql_is_served_to_browsers(client):
    response = await client.http.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert "graphiql" in response.text.lower()


def test_every_type_that_implements_node_is_found_by_node_id():
    """A node type registers itself where it is defined; none is left out of node(id:)."""
    from api.core.relay import NODE_TYPES
    from api.schema import build_schema

    schema = build_schema()._schema
    implementing = {t.name for t in schema.get_implementations(schema.get_type("Node")).objects}
    assert set(NODE_TYPES) == implementing


def test_every_id_field_of_every_input_says_which_type_it_names():
    """Global ids in mutation inputs are decoded as the type their field declares (IdOf),
    never by guessing from the field's name; an ID field without a declaration fails here.
    (A query's filter names the type where it reads each id: ``api.core.relay.filter_id``.)"""
    from graphql import GraphQLInputObjectType
    from strawberry.types.base import StrawberryObjectDefinition

    from api.core.inputs import id_fields
    from api.schema import build_schema

    strawberry_schema = build_schema()
    declared = 0
    for graphql_type in strawberry_schema._schema.type_map.values():
        if not isinstance(graphql_type, GraphQLInputObjectType) or graphql_type.name.endswith(
            "Filter"
        ):
            continue
        definition = graphql_type.extensions.get("strawberry-definition")
        assert isinstance(definition, StrawberryObjectDefinition), graphql_type.name
        fields = id_fields(definition.origin)
        ids = {name for name, f in graphql_type.fields.items() if "ID" in str(f.type)}
        assert len(fields) == len(ids), (graphql_type.name, fields, ids)
        declared += len(fields)
    assert declared > 30


async def test_an_input_id_of_another_type_is_refused_naming_its_field(client):
    ids = await seed_engagement(client)
    payload = await client.mutate(
        "createPromise",
        {
            "engagementId": ids["engagement"],
            "item": "a",
            "description": "d",
            "quantity": "1",
            # An organization's id where a person's belongs.
            "madeById": ids["client"],
        },
        "promise { id }",
    )
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [
        (["input", "madeById"], "NOT_FOUND")
    ]
