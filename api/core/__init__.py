"""What every GraphQL type shares: relay ids and connections, scalars, inputs, errors, the
one mutation helper, loaders, the access table and the limits on a document."""
