"""Webhook endpoints and deliveries over GraphQL."""
