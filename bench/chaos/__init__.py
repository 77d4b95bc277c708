"""Chaos runs: requests worked to closure through worker processes on a real PostgreSQL and a
real Temporal dev server while one fault at a time is injected (see ``bench/README.md``)."""
