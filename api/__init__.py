"""GraphQL over HTTP: strawberry types, queries, mutations, loaders, the Starlette app, the CLI.

This layer only translates: input to a service call, model to a GraphQL type. Types carry
scalars and ids, never ORM objects; relations resolve through per-request DataLoaders.
"""
