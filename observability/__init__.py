"""What the service tells its operators: Prometheus metrics and structured logs.

Every layer but ``rules/`` may import this package (services count evaluations, the
dispatcher counts deliveries, the API counts requests); it imports nothing of the
project's own.
"""
