"""Delivery of the outbox's messages to destinations outside caseflow."""
