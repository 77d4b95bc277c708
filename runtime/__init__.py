"""Process wiring shared by the worker, the starter and the demo: settings, the Temporal
connection and its data converter."""
