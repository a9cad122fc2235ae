"""A sample portfolio to explore fourway with."""
