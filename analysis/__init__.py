"""Decision analysis over the event log: SLA what-if, where the time goes, the customer's story.

Pure computations live in plain modules; ``analysis.store`` is the only one that reads the
database, and ``analysis.cli`` the only one that loads configuration."""
