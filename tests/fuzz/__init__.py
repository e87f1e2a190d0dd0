"""Fuzz tests: every API operation from openapi.yaml (schemathesis) against a real server,
batches with one bad card, and the pure functions (hypothesis).

Short by default (part of the normal suite); ``scripts/fuzz`` runs the long version.
"""
