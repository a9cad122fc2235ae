"""Clients, providers and their people."""
