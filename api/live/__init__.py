"""Live updates: GraphQL subscriptions and how one event reaches many of them."""
