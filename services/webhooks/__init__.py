"""Webhook endpoints, deliveries people act on, and the addresses the service may call."""
