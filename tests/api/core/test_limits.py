"""What one document may ask for: depth, aliases, fields, repeats and tokens are bounded
(in time linear in the document, fragments included), introspection and suggestions can be
switched off, the nodes its connections may return are budgeted and reported, and the
limits leave the validation cache working."""

from __future__ import annotations

import json
from typing import Any

import pytest
from graphql import DocumentNode
from strawberry.schema.schema import validate_document

import api.core.shape
from api.core.shape import _checked, validation_cache_info
from services.access.api_keys import create_api_key
from services.core.wire import to_global_id
from settings import get_settings
from tests.support import QueryCounter, dump_database, http_as


@pytest.fixture
def limited(monkeypatch):
    settings = get_settings()
    monkeypatch.setattr(settings, "graphql_max_depth", 4)
    monkeypatch.setattr(settings, "graphql_max_aliases", 3)
    monkeypatch.setattr(settings, "graphql_max_tokens", 200)


async def _post(
    settings, admin_key: str, query: str, variables: dict[str, Any] | None = None
) -> dict:
    async with http_as(settings, admin_key) as http:
        response = await http.post("/graphql", json={"query": query, "variables": variables})
    body: dict = response.json()
    return body


def _requested(body: dict) -> int:
    """The nodes the response says the request asked for."""
    requested: int = body["extensions"]["cost"]["requestedNodes"]
    return requested


async def test_a_document_deeper_than_the_limit_is_refused(settings, admin_key, limited):
    shallow = "{ engagements { nodes { client { name } } } }"
    assert "errors" not in await _post(settings, admin_key, shallow)
    deep = "{ engagements { nodes { client { engagements { nodes { name } } } } } }"
    body = await _post(settings, admin_key, deep)
    assert body["data"] is None
    assert "exceeds maximum operation depth of 4" in body["errors"][0]["message"]


async def test_too_many_aliases_are_refused(settings, admin_key, limited):
    three = "{ a: rules { id } b: rules { id } c: rules { id } }"
    assert "errors" not in await _post(settings, admin_key, three)
    four = "{ a: rules { id } b: rules { id } c: rules { id } d: rules { id } }"
    body = await _post(settings, admin_key, four)
    assert body["data"] is None
    assert "4 aliases found. Allowed: 3" in body["errors"][0]["message"]


async def test_a_document_of_too_many_tokens_is_refused(settings, admin_key, limited):
    flood = "{ " + " ".join(["__typename"] * 300) + " }"
    body = await _post(settings, admin_key, flood)
    assert "more than 200 tokens" in body["errors"][0]["message"]


# --- documents that stand for far more than they are ---------------------------------------


def _fragment_chain(levels: int, fan_out: int) -> str:
    """``{ ...F<levels-1> }`` where each fragment spreads the one before ``fan_out`` times:
    a document of a few hundred bytes per level that stands for ``fan_out ** levels``
    fields."""
    fragments = ["fragment F0 on Query { __typename }"]
    fragments += [
        f"fragment F{n} on Query {{ {' '.join([f'...F{n - 1}'] * fan_out)} }}"
        for n in range(1, levels)
    ]
    return f"{{ ...F{levels - 1} }}\n" + "\n".join(fragments)


def _nested_repeats(repeats: int, levels: int) -> str:
    """``engagements`` selected ``repeats`` times, each selecting it ``repeats`` times again
    under its client, ``levels`` deep: ``repeats ** levels`` fields at the innermost place."""
    inner = "name"
    for _ in range(levels):
        inner = " ".join([f"engagements {{ nodes {{ name client {{ {inner} }} }} }}"] * repeats)
    return f"{{ organizations {{ nodes {{ {inner} }} }} }}"


HOSTILE = {
    # 1.5 KB that a walk following every spread never finishes.
    "ten spreads of the one before, 25 deep": (_fragment_chain(25, 10), "MAX_FIELDS_EXCEEDED"),
    "two spreads of the one before, 19 deep": (_fragment_chain(19, 2), "MAX_FIELDS_EXCEEDED"),
    # Compared in pairs, 400 copies of one field take a second to validate.
    "one field 400 times": (
        "{ " + " ".join(["rules { id }"] * 400) + " }",
        "MAX_REPEATS_EXCEEDED",
    ),
    # Few fields each time, but 125 at the innermost place.
    "repeats of repeats": (_nested_repeats(5, 3), "MAX_REPEATS_EXCEEDED"),
}


@pytest.mark.parametrize("name", HOSTILE)
async def test_a_document_that_stands_for_too_much_is_refused_at_once(settings, name, monkeypatch):
    """Refused by the walk of the document's shape, before graphql-core's validation (whose
    field-merging check took seconds to minutes on these) looks at it. The CPU each refusal
    costs is what ``bench/hostile.py`` prints; a timed bound here would fail on a busy
    machine rather than on slow code."""
    document, code = HOSTILE[name]
    validated: list[DocumentNode] = []

    def validate_and_count(schema, checked, rules):  # type: ignore[no-untyped-def]
        validated.append(checked)
        return validate_document(schema, checked, rules)

    _checked.cache_clear()  # an earlier test's answer for the same text would hide the walk
    monkeypatch.setattr(api.core.shape, "validate_document", validate_and_count)
    viewer = await create_api_key(name="viewer", role="VIEWER")
    async with http_as(settings, viewer.key) as http:
        warm = await http.post("/graphql", json={"query": "{ __typename }"})
        response = await http.post("/graphql", json={"query": document})
    assert warm.json()["data"] == {"__typename": "Query"}
    assert len(validated) == 1, "the counting validator saw the warm-up document"
    body = response.json()
    assert body["data"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == [code]
    assert len(validated) == 1, f"{name}: graphql-core's validation ran on it"


async def test_a_fragment_spread_many_times_at_one_place_lands_once(settings, admin_key):
    # As graphql-core runs it: ...F1 ten times is F1 once, and so on down.
    body = await _post(settings, admin_key, _fragment_chain(3, 10))
    assert body["data"] == {"__typename": "Query"}


async def test_fragments_that_spread_themselves_are_refused_by_validation(settings, admin_key):
    direct = "{ ...A } fragment A on Query { ...A }"
    through_a_field = """{ organizations { ...O } }
      fragment O on OrganizationConnection { nodes { engagements { ...O } } }"""
    for document in (direct, through_a_field):
        body = await _post(settings, admin_key, document)
        assert body["data"] is None
        assert "Cannot spread fragment" in body["errors"][0]["message"]


async def test_a_field_repeated_up_to_the_limit_runs(settings, admin_key, monkeypatch):
    monkeypatch.setattr(get_settings(), "graphql_max_repeats", 3)
    assert "errors" not in await _post(settings, admin_key, _nested_repeats(3, 1))
    body = await _post(settings, admin_key, _nested_repeats(2, 2))
    message = body["errors"][0]["message"]
    assert "`organizations.nodes.engagements.nodes.client.engagements` is selected 4" in message
    three = "{ " + " ".join(["rules { id }"] * 3) + " }"
    assert "errors" not in await _post(settings, admin_key, three)
    body = await _post(settings, admin_key, "{ " + " ".join(["rules { id }"] * 4) + " }")
    assert "`rules` is selected 4 times at one place" in body["errors"][0]["message"]
    # Through two parents: each `id` alone in its own, two at the place they share.
    body = await _post(
        settings, admin_key, "{ rules { id } rules { id } r: rules { id id } x: rules { id } }"
    )
    assert "errors" not in body
    body = await _post(settings, admin_key, "{ rules { id id } rules { id id } }")
    assert "`rules.id` is selected 4 times at one place" in body["errors"][0]["message"]


async def test_fields_are_counted_wherever_their_fragment_is_spread(
    settings, admin_key, monkeypatch
):
    monkeypatch.setattr(get_settings(), "graphql_max_fields", 6)
    fragment = "fragment R on Rule { id severity }"
    # rules + 2 fields, in each of two aliased places: 6.
    six = f"{{ a: rules {{ ...R }} b: rules {{ ...R }} }} {fragment}"
    assert "errors" not in await _post(settings, admin_key, six)
    eight = f"{{ a: rules {{ ...R }} b: rules {{ ...R }} c: rules {{ id }} }} {fragment}"
    body = await _post(settings, admin_key, eight)
    assert body["errors"][0]["extensions"]["code"] == "MAX_FIELDS_EXCEEDED"
    assert "selects 8 fields" in body["errors"][0]["message"]


async def test_depth_and_aliases_count_through_fragments(settings, admin_key, limited):
    deep = """{ engagements { ...E } }
      fragment E on EngagementConnection { nodes { client { engagements { nodes { name } } } } }"""
    body = await _post(settings, admin_key, deep)
    assert "exceeds maximum operation depth of 4" in body["errors"][0]["message"]
    aliased = "{ ...A ...B } fragment A on Query { a: rules { id } b: rules { id } } " + (
        "fragment B on Query { ...A c: rules { id } }"
    )
    body = await _post(settings, admin_key, aliased)
    assert "5 aliases found. Allowed: 3" in body["errors"][0]["message"]


async def test_introspection_can_be_switched_off(settings, admin_key, monkeypatch):
    query = "{ __schema { queryType { name } } }"
    assert (await _post(settings, admin_key, query))["data"] == {
        "__schema": {"queryType": {"name": "Query"}}
    }
    monkeypatch.setattr(get_settings(), "graphql_introspection", False)
    body = await _post(settings, admin_key, query)
    assert "introspection" in body["errors"][0]["message"].lower()


async def test_the_limits_leave_the_validation_cache_hitting(settings, admin_key):
    query = "{ rules { id severity } organizations { totalCount } }"
    # Without the result cache, which would answer the repeats without validating them.
    uncached = settings.model_copy(update={"result_cache_bytes": 0})
    async with http_as(uncached, admin_key) as http:
        await http.post("/graphql", json={"query": query})
        before = validation_cache_info()
        for _ in range(5):
            assert (await http.post("/graphql", json={"query": query})).status_code == 200
        after = validation_cache_info()
    assert after.hits - before.hits == 5
    assert after.misses == before.misses


# --- the node budget ----------------------------------------------------------------------


async def test_a_request_within_the_node_budget_runs_and_one_node_more_is_refused(
    settings, admin_key, monkeypatch
):
    monkeypatch.setattr(get_settings(), "graphql_max_nodes", 31)
    # 5 engagements, and 5 needs for each of them: 5 + 25.
    nested = "engagements(first: 5) { nodes { needs(first: 5) { totalCount } } }"
    at_limit = await _post(
        settings, admin_key, f"{{ {nested} organizations(first: 1) {{ totalCount }} }}"
    )
    assert "errors" not in at_limit
    assert at_limit["extensions"]["cost"] == {"requestedNodes": 31, "maxNodes": 31}

    over = await _post(
        settings, admin_key, f"{{ {nested} organizations(first: 2) {{ totalCount }} }}"
    )
    assert over["data"] is None
    assert len(over["errors"]) == 1
    error = over["errors"][0]
    assert error["extensions"] == {"code": "MAX_NODE_LIMIT_EXCEEDED"}
    assert "up to 32 nodes" in error["message"]
    assert "limit of 31" in error["message"]
    assert over["extensions"]["cost"] == {"requestedNodes": 32, "maxNodes": 31}


async def test_nested_connections_multiply_their_pages(settings, admin_key):
    query = """{
      organizations(first: 3) { nodes {
        engagements(first: 4) { nodes { needs(first: 5) { totalCount } } }
        people(first: 2) { totalCount }
      } }
    }"""
    # 3 organizations; 12 engagements with 60 needs; 6 people.
    assert _requested(await _post(settings, admin_key, query)) == 3 + 12 + 60 + 6


async def test_pages_absent_beyond_the_maximum_or_from_the_end_count_as_fetched(
    settings, admin_key
):
    query = """{
      engagements { totalCount }
      organizations(last: 7) { totalCount }
      people(first: 500) { totalCount }
    }"""
    body = await _post(settings, admin_key, query)
    # The default page, `last` like `first`, and a page beyond the maximum as the maximum:
    # that one is still refused for itself, as always.
    assert _requested(body) == 20 + 7 + 100
    assert body["errors"][0]["path"] == ["people"]
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT"}


async def test_page_sizes_given_as_variables_count_as_the_request_gives_them(settings, admin_key):
    query = """query($n: Int, $m: Int = 3) {
      engagements(first: $n) { nodes { needs(last: $m) { totalCount } } }
    }"""
    async with http_as(settings, admin_key) as http:

        async def requested(variables: dict[str, Any]) -> int:
            response = await http.post("/graphql", json={"query": query, "variables": variables})
            return _requested(response.json())

        assert await requested({"n": 7, "m": 2}) == 7 + 14
        # $m's default; then a null $n is the default page.
        assert await requested({"n": 7}) == 7 + 21
        assert await requested({"n": None, "m": 1}) == 20 + 20


async def test_nodes_by_id_multiply_what_is_selected_under_them(settings, admin_key):
    ids = [to_global_id("Engagement", n) for n in range(1, 4)]
    listed = f"""{{ nodes(ids: {json.dumps(ids[:2])}) {{
      ... on Engagement {{ promises(first: 10) {{ totalCount }} }} }} }}"""
    assert _requested(await _post(settings, admin_key, listed)) == 2 * (1 + 10)
    given = """query($ids: [ID!]!) { nodes(ids: $ids) {
      ... on Engagement { promises(first: 10) { totalCount } needs { totalCount } } } }"""
    assert _requested(await _post(settings, admin_key, given, {"ids": ids})) == 3 * (1 + 10 + 20)


async def test_fragments_and_inline_fragments_count_every_selection_as_written(settings, admin_key):
    query = """
    query {
      a: engagements(first: 2) { ...Sides }
      b: engagements(first: 1) { ...Sides }
      node(id: "RW5nYWdlbWVudDo5OTk5OQ==") {
        ... on Engagement { needs(first: 3) { totalCount } }
        ... on Organization { engagements(first: 6) { totalCount } }
      }
    }
    fragment Sides on EngagementConnection {
      nodes { ...Needs promises(last: 5) { totalCount } }
    }
    fragment Needs on Engagement { needs(first: 4) { totalCount } }
    """
    # a: 2 + 2 * (4 + 5); b: 1 + 1 * (4 + 5); each inline fragment as if it applied.
    body = await _post(settings, admin_key, query)
    assert "errors" not in body
    assert _requested(body) == 20 + 10 + 3 + 6


async def test_the_default_budget_refuses_a_full_page_in_a_full_page_before_anything_runs(
    settings, admin_key
):
    # 100 engagements with 100 needs each: 10,100 nodes, over the default of 10,000.
    mutation = """mutation {
      createOrganization(input: {name: "Acme", kind: CLIENT}) {
        organization { engagements(first: 100) { nodes { needs(first: 100) { totalCount } } } }
        userErrors { message }
      }
    }"""
    before = await dump_database()
    body = await _post(settings, admin_key, mutation)
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "MAX_NODE_LIMIT_EXCEEDED"
    assert body["extensions"]["cost"] == {"requestedNodes": 10_100, "maxNodes": 10_000}
    assert await dump_database() == before


async def test_a_refused_query_sends_no_statement_beyond_reading_its_key(
    settings, admin_key, monkeypatch
):
    monkeypatch.setattr(get_settings(), "graphql_max_nodes", 10)
    async with http_as(settings, admin_key) as http:
        # The key is read once and trusted (PostgreSQL) or read every time (SQLite): the
        # same for all three either way.
        await http.post("/graphql", json={"query": "{ __typename }"})
        with QueryCounter() as reading_nothing:
            await http.post("/graphql", json={"query": "{ __typename }"})
        with QueryCounter() as allowed:
            ok = await http.post(
                "/graphql", json={"query": "{ engagements(first: 10) { totalCount } }"}
            )
        with QueryCounter() as refused:
            body = (
                await http.post(
                    "/graphql", json={"query": "{ engagements(first: 11) { totalCount } }"}
                )
            ).json()
    assert "errors" not in ok.json()
    assert body["errors"][0]["extensions"]["code"] == "MAX_NODE_LIMIT_EXCEEDED"
    assert allowed.count > reading_nothing.count
    assert refused.count == reading_nothing.count


async def test_every_response_that_runs_reports_its_cost(settings, admin_key):
    assert (await _post(settings, admin_key, "{ rules { id } }"))["extensions"] == {
        "cost": {"requestedNodes": 0, "maxNodes": 10_000}
    }
    body = await _post(settings, admin_key, "{ engagements(first: 3) { totalCount } }")
    assert body["extensions"] == {"cost": {"requestedNodes": 3, "maxNodes": 10_000}}


# --- suggestions ----------------------------------------------------------------------------


TYPO = "{ engagements { nodes { nam } } }"
ENUM_TYPO = "query($kind: OrganizationKind) { organizations(kind: $kind) { totalCount } }"


async def test_errors_suggest_names_by_default(settings, admin_key):
    body = await _post(settings, admin_key, TYPO)
    assert "Did you mean 'name'?" in body["errors"][0]["message"]
    body = await _post(settings, admin_key, ENUM_TYPO, {"kind": "CLIEN"})
    assert "Did you mean the enum value 'CLIENT'?" in body["errors"][0]["message"]


async def test_suggestions_can_be_switched_off(settings, admin_key, monkeypatch):
    monkeypatch.setattr(get_settings(), "graphql_suggestions", False)
    body = await _post(settings, admin_key, TYPO)
    assert body["errors"][0]["message"] == "Cannot query field 'nam' on type 'Engagement'."
    body = await _post(settings, admin_key, ENUM_TYPO, {"kind": "CLIEN"})
    message = body["errors"][0]["message"]
    assert "CLIEN" in message
    assert "mean" not in message
    assert "CLIENT" not in message


async def test_the_budget_and_hidden_suggestions_leave_the_validation_cache_hitting(
    settings, admin_key, monkeypatch
):
    monkeypatch.setattr(get_settings(), "graphql_suggestions", False)
    query = (
        "query($n: Int) { engagements(first: $n) { nodes { needs(first: $n) { totalCount } } } }"
    )
    async with http_as(settings, admin_key) as http:
        await http.post("/graphql", json={"query": query, "variables": {"n": 1}})
        before = validation_cache_info()
        costs = []
        for n in range(2, 7):
            response = await http.post("/graphql", json={"query": query, "variables": {"n": n}})
            costs.append(_requested(response.json()))
        after = validation_cache_info()
    assert costs == [n + n * n for n in range(2, 7)]
    assert after.hits - before.hits == 5
    assert after.misses == before.misses
