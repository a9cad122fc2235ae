"""Plain leaves completed in place answer exactly as graphql-core's own path does: the same
data, and the same errors at the same paths when a value is null or cannot be coerced."""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal
from typing import Any

import strawberry
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from api.core.execution import PLAIN_LEAVES, PlainLeavesExecutor
from api.core.scalars import SCALAR_OVERRIDES
from api.schema import read_plain_fields_directly


@strawberry.enum
class Colour(enum.Enum):
    RED = "RED"
    BLUE = "BLUE"


@strawberry.type
class Item:
    name: str
    note: str | None
    colour: Colour
    amount: Decimal
    at: dt.datetime | None
    tags: list[str]
    count: int

    @strawberry.field
    def shout(self) -> str:
        return self.name.upper()


@strawberry.type
class Holder:
    required: Item
    optional: Item | None


GOOD = Item(
    name="a",
    note=None,
    colour=Colour.RED,
    amount=Decimal("12.50"),
    at=dt.datetime(2026, 11, 26, 9, tzinfo=dt.UTC),
    tags=["x"],
    count=3,
)


def _bad(**changes: Any) -> Item:
    return Item(**{**GOOD.__dict__, **changes})


@strawberry.type
class Query:
    @strawberry.field
    def items(self) -> list[Item | None]:
        return [
            GOOD,
            _bad(note="n", at=None),
            _bad(name=None),  # null on a non-null leaf
            _bad(colour="GREEN"),  # no such enum value
            _bad(count="three"),  # an Int that is not one
        ]

    @strawberry.field
    def holder(self) -> Holder | None:
        return Holder(required=_bad(name=None), optional=_bad(name=None))

    @strawberry.field
    def holders(self) -> list[Holder | None]:
        return [
            Holder(required=GOOD, optional=None),
            Holder(required=None, optional=GOOD),  # type: ignore[arg-type]  # null object
            Holder(required=ValueError("no item"), optional=GOOD),  # type: ignore[arg-type]
        ]


QUERY = """{
  items { name note colour amount at tags count shout alias: name __typename }
  holder { required { name } optional { name count } }
  holders { required { name } optional { name } }
}"""


def _schema(executor: type) -> strawberry.Schema:
    schema = strawberry.Schema(
        query=Query, scalar_overrides=SCALAR_OVERRIDES, execution_context_class=executor
    )
    read_plain_fields_directly(schema)
    return schema


def _answer(schema: strawberry.Schema) -> tuple[Any, list[tuple[str, Any]]]:
    result = schema.execute_sync(QUERY)
    errors = sorted((e.message, e.path) for e in result.errors or [])
    return result.data, errors


def test_plain_leaves_are_marked_and_resolvers_are_not():
    schema = _schema(PlainLeavesExecutor)
    leaves = schema._schema.type_map["Item"].extensions[PLAIN_LEAVES]
    assert set(leaves) == {"name", "note", "colour", "amount", "at", "count"}
    assert PLAIN_LEAVES not in schema._schema.type_map["Holder"].extensions


def test_plain_leaves_answer_as_graphql_core_does():
    short = _answer(_schema(PlainLeavesExecutor))
    long = _answer(_schema(StrawberryGraphQLCoreExecutionContext))
    assert short == long
    data, errors = short
    assert data["items"][0] == {
        "name": "a",
        "note": None,
        "colour": "RED",
        "amount": "12.50",
        "at": "2026-11-26T09:00:00+00:00",
        "tags": ["x"],
        "count": 3,
        "shout": "A",
        "alias": "a",
        "__typename": "Item",
    }
    assert data["items"][1]["note"] == "n"
    assert data["items"][1]["at"] is None
    assert data["items"][2:] == [None, None, None]
    assert data["holder"] is None  # the null climbed to the nearest nullable field
    paths = [path for _, path in errors]
    assert ["items", 2, "name"] in paths
    assert ["items", 3, "colour"] in paths
    assert ["items", 4, "count"] in paths
    assert ["holder", "required", "name"] in paths
    assert data["holders"] == [{"required": {"name": "a"}, "optional": None}, None, None]
    assert ["holders", 1, "required"] in paths
    assert ("no item", ["holders", 2, "required"]) in errors
