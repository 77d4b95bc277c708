"""Activities: every piece of I/O a request workflow needs (append events, choose people,
notify). Workflows import only :mod:`activities.contracts`, which holds no I/O."""
