"""The local platform: finds or builds the Temporal CLI, starts its dev server, and starts a
private PostgreSQL cluster. Used by the demo, the test suite and ``bin/bootstrap``; production
points caseflow at real servers through settings instead."""
