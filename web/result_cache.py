"""The result cache: a read that repeats is answered with the bytes of the last answer to
the same request, without running it, for as long as no commit could have changed it.

What an answer depends on, and so what its key holds:

- the document, normalized (printed from its parse, so spacing and comments do not
  matter) and hashed, and the operation chosen from it. The normalized digest is worked
  out when an answer is first kept (printing a document costs as much as parsing it, and
  a document refused for its size should cost neither twice); until then a text of its
  own is a miss, once;
- the variables, as canonical JSON (keys sorted, no spaces);
- who asks: the key's role and the person it acts for, which are all the access table
  and the nested lists that narrow themselves read of a key (``api.core.access``);
- the media type the answer is sent as;
- the data: :func:`models.db.data_version`, read before the request runs.

Nothing else goes into an answer: no read looks at the clock, and ``extensions.cost``
follows from the document and the variables.

Why one version for all the data, not one per engagement read: the reads reach far past
engagements (organizations, people, plans, periods, keys, endpoints, deliveries, the audit
trail), and not every write says which engagement it touched (only those that write an
``engagement.*`` event do), so versions per engagement could not be shown complete. The
database's own version is complete by construction: every commit moves it, whichever
code path wrote, in this process or another. Any commit empties the cache, which costs
hits on a service that writes often, never a stale answer.

Why a check against the database on every read, rather than the NOTIFY the live feed
hears: a NOTIFY reaches the other processes after the writer's commit has returned to its
client, so a read sent to another process in that gap would get the old answer; and it
is not sent at all while the listening connection is down. The check is one statement,
measured at about 0.1 ms on SQLite and 0.3 ms on PostgreSQL on a loaded two-core machine
(``bench/peer.py`` measures whole hits, the check included; ``bench/read_path.py``
measures misses). On SQLite it also catches ``fourway`` commands and other processes
writing to the same file. On PostgreSQL transaction ids belong to the server, so commits
in its other databases also move the version: misses, never stale answers.

Only queries are cached (never mutations or subscriptions), only answers without errors
(so nothing refused, over a limit or failed), and only requests without ``extensions``;
queries that select only ``__typename`` or introspection at their root read no data and
are left to run (in less time than the version takes to read).
The cache holds answers for one version at a time: when a newer one is seen, the older
answers, unreachable from then on, are dropped. Within a version it keeps at most
``FOURWAY_RESULT_CACHE_BYTES`` (answers and their keys), dropping the least recently used.
Identical misses that arrive together each run (no coalescing).
"""

from __future__ import annotations

import hashlib
import json
import time
import weakref
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache

from graphql import (
    FieldNode,
    GraphQLError,
    OperationDefinitionNode,
    OperationType,
    print_ast,
)

from api.core.shape import PARSE_CACHE_SIZE, parse_document
from observability import metrics

ENTRY_OVERHEAD = 200
"""Bytes counted for an entry beyond its answer and its variables: the key's other parts,
the tuple, the dictionary's slot."""

Key = tuple[str, str | None, str, str, int | None, str]
"""Document digest, the operation's name in it, variables, role, person id, media type."""


@dataclass(frozen=True)
class Operation:
    """A query a request runs: its document's text and its own name (the one logged and
    measured, whether or not the request named it)."""

    query: str
    name: str | None


@lru_cache(maxsize=PARSE_CACHE_SIZE)
def _queries(query: str, max_tokens: int) -> dict[str | None, Operation] | None:
    """The queries of ``query`` that read data, by the name a request may use (None for
    the only one); None when it does not parse (left to the schema to answer)."""
    try:
        document = parse_document(query, max_tokens=max_tokens)
    except GraphQLError:
        return None
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    queries: dict[str | None, Operation] = {}
    for definition in operations:
        if definition.operation is not OperationType.QUERY or not _reads_data(definition):
            continue
        name = definition.name.value if definition.name else None
        if name is not None:
            queries[name] = Operation(query, name)
        if len(operations) == 1:
            queries[None] = Operation(query, name)
    return queries


def _reads_data(operation: OperationDefinitionNode) -> bool:
    """Whether the operation may read the database: anything but ``__typename``,
    ``__schema`` and ``__type`` at its root, which answer without it (and faster than the
    data version could be read)."""
    return any(
        not isinstance(selection, FieldNode) or not selection.name.value.startswith("__")
        for selection in operation.selection_set.selections
    )


def cacheable_operation(
    query: object, operation_name: object, *, max_tokens: int
) -> Operation | None:
    """The query that a request for ``operation_name`` in ``query`` runs, or None when it
    runs no query (a mutation, a subscription, a document that does not parse, a name it
    does not hold)."""
    if not isinstance(query, str) or not isinstance(operation_name, str | None):
        return None
    queries = _queries(query, max_tokens)
    return None if queries is None else queries.get(operation_name)


def _text_digest(query: str) -> str:
    return hashlib.sha256(query.encode("utf-8", "surrogatepass")).hexdigest()


def normalized_digest(query: str, max_tokens: int) -> str:
    """The hash of the document as graphql-core prints it: the same for texts that differ
    only in spacing, commas and comments."""
    document = parse_document(query, max_tokens=max_tokens)
    return hashlib.sha256(print_ast(document).encode("utf-8", "surrogatepass")).hexdigest()


def canonical_json(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@dataclass
class Ticket:
    """One cacheable request: its key (less the document's digest, when not yet known),
    the data version it was read at, and the answer held for it (None on a miss)."""

    rest: tuple[str | None, str, str, int | None, str]
    """The key after the digest."""
    digest: str | None
    version: str
    operation: Operation
    started: float
    hit: bytes | None


class _Usage:
    """The bytes a cache holds, kept apart from it so the gauge can be corrected when the
    cache is collected."""

    def __init__(self) -> None:
        self.bytes = 0

    def add(self, amount: int) -> None:
        self.bytes += amount
        metrics.RESULT_CACHE_BYTES.inc(amount)

    @staticmethod
    def release(usage: _Usage) -> None:
        metrics.RESULT_CACHE_BYTES.dec(usage.bytes)
        usage.bytes = 0


class ResultCache:
    """Answers by :data:`Key`, for the current data version, least recently used first
    out, within ``max_bytes``."""

    def __init__(
        self,
        *,
        max_bytes: int,
        max_tokens: int,
        data_version: Callable[[], Awaitable[str]],
    ) -> None:
        self.max_bytes = max_bytes
        self.max_tokens = max_tokens
        self._data_version = data_version
        self._version: str | None = None
        self._entries: OrderedDict[Key, bytes] = OrderedDict()
        # The normalized digest of each text answered and kept, by the text's own digest.
        self._digests: OrderedDict[str, str] = OrderedDict()
        self._usage = _Usage()
        weakref.finalize(self, _Usage.release, self._usage)

    @property
    def size_bytes(self) -> int:
        return self._usage.bytes

    def __len__(self) -> int:
        return len(self._entries)

    async def ticket(
        self,
        *,
        query: object,
        variables: Mapping[str, object] | None,
        operation_name: object,
        extensions: Mapping[str, object] | None,
        role: str,
        person_id: int | None,
        media_type: str,
    ) -> Ticket | None:
        """The ticket of a request the cache may answer, with its answer if held; None
        when the request is not one to cache."""
        if extensions:
            return None
        operation = cacheable_operation(query, operation_name, max_tokens=self.max_tokens)
        if operation is None:
            return None
        started = time.perf_counter()
        rest = (operation.name, canonical_json(variables or {}), role, person_id, media_type)
        digest = self._digests.get(_text_digest(operation.query))
        version = await self._data_version()  # before anything of the answer is read
        if version != self._version:
            self._drop_all()
            self._version = version
        key: Key | None = None if digest is None else (digest, *rest)
        body = None if key is None else self._entries.get(key)
        if key is None or body is None:
            metrics.RESULT_CACHE_MISSES.inc()
        else:
            self._entries.move_to_end(key)
            metrics.RESULT_CACHE_HITS.inc()
        return Ticket(rest, digest, version, operation, started, body)

    def put(self, ticket: Ticket, body: bytes) -> None:
        """Keep ``body`` as the answer to ``ticket``'s request, unless the data has moved
        on since it was read (it may be older than what is current) or it cannot fit."""
        if ticket.version != self._version:
            return
        digest = ticket.digest or self._digest(ticket.operation.query)
        key: Key = (digest, *ticket.rest)
        size = _size(key, body)
        if size > self.max_bytes or key in self._entries:
            return
        self._entries[key] = body
        self._usage.add(size)
        while self._usage.bytes > self.max_bytes:
            key, dropped = self._entries.popitem(last=False)
            self._usage.add(-_size(key, dropped))
            metrics.RESULT_CACHE_EVICTIONS.inc()

    def _digest(self, query: str) -> str:
        """The normalized digest of ``query``, remembered for the next request of the same
        text (the last :data:`PARSE_CACHE_SIZE` texts)."""
        digest = normalized_digest(query, self.max_tokens)
        self._digests[_text_digest(query)] = digest
        if len(self._digests) > PARSE_CACHE_SIZE:
            self._digests.popitem(last=False)
        return digest

    def _drop_all(self) -> None:
        self._entries.clear()
        self._usage.add(-self._usage.bytes)


def _size(key: Key, body: bytes) -> int:
    return len(body) + len(key[2]) + ENTRY_OVERHEAD
