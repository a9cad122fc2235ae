"""Use cases: one function per thing a user does, each in one transaction.

Functions take keyword-only arguments, validate what they are given, and raise the
domain errors of ``services.core.errors``; ``api/`` maps those to ``userErrors`` in one place.
"""
