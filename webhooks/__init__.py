"""Delivery: the dispatcher that sends outbox events to endpoints, signed, with retries.

It reads and writes models only; what it must ask of the services (disable an endpoint,
screen a URL, resolve a host to the addresses it may call) is handed to it by whoever
starts it.
"""
