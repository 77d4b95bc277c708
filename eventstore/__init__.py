"""The event store: the one place that knows the database. It validates and appends events
(``append``), keeps the read projections in step in the same transaction (``projector``),
rebuilds them from the log (``rebuild``) and answers the questions other packages ask
(``timeline``, ``queries``). Everything else goes through it."""
