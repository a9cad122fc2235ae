"""HTTP: the Starlette application, authentication, GraphQL over HTTP and websockets, the
result cache, health, metrics and exports."""
