"""The front door: an authenticated HTTP API over the request workflows and the event store."""
