"""GraphQL: strawberry types, queries, mutations and loaders, by domain; `api/schema.py`
assembles them. HTTP is `web/`'s.

This layer only translates: input to a service call, model to a GraphQL type. Types carry
scalars and ids, never ORM objects; relations resolve through per-request DataLoaders.
"""
