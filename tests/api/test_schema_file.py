from pathlib import Path

from api.schema import schema_sdl


def test_schema_graphql_matches_the_code(repo_root: Path):
    committed = (repo_root / "schema.graphql").read_text(encoding="utf-8")
    assert committed == schema_sdl(), "schema.graphql is stale: run `fourway schema`"


def test_the_schema_speaks_the_contract_names():
    sdl = schema_sdl()
    for name in (
        "scalar Decimal",
        "scalar DateTime",
        "scalar Date",
        "interface Node",
        "type UserError",
        "enum UserErrorCode",
        "node(id: ID!): Node",
        "nodes(ids: [ID!]!): [Node]!",
        "engagements(first: Int = null, after: String = null, last: Int = null, "
        "before: String = null, filter: EngagementFilter = null): EngagementConnection!",
        "createChangeOrder(input: CreateChangeOrderInput!): CreateChangeOrderPayload!",
        "totalCount: Int!",
    ):
        assert name in sdl, name
