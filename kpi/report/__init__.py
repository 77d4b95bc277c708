"""The monthly performance report: what arrived in a month, who owned it, which steps it went
through and how long each took, and per role and per person the volume, handling time, first
response, SLA compliance, breaches, escalations, reopen rate and satisfaction.

    python -m kpi.report --month 2026-11 [--department ID] [--role ROLE] [--tz ZONE]
                         [--out DIR] [--database-url URL] [--config-dir DIR]

writes ``DIR/caseflow-report-2026-11[-ID][-ROLE].html`` (one self-contained UTF-8 page: inline
CSS and SVG charts, no script, nothing fetched) and, in the folder of the same name without
``.html``, ``requests.csv``, ``steps.csv``, ``people.csv``, ``roles.csv`` and
``handoffs.csv``. Several reports can share ``DIR`` without overwriting one another's CSVs.

It is computed from the projections (``requests``, ``request_steps``) by
``queries.build_report``; the figures (``figures``), the CSVs (``csv_files``), the charts
(``charts``) and the page (``page``) are pure; ``__main__`` is the command line. The
definitions, also in docs/kpis.md:

- **Month**: midnight on the 1st to midnight on the 1st of the next month in ``tz`` (default
  Asia/Shanghai), i.e. ``[start, end)``; 2026-11 in Shanghai is 2026-10-31 16:00 UTC to
  2026-11-30 16:00 UTC. Times in the report and the CSVs are shown in ``tz``.
- **Requests of the month**: submitted in the month (``requests.submitted_at``). *Resolved*:
  has a resolution now (``resolved_at`` set: resolved or closed after resolution; a reopened
  request is not resolved until resolved again); *resolved in the month*: its latest resolution
  is before the month's end. Status and owner are as of the report.
- **Steps handled in the month**: steps completed in the month (``request_steps.ended_at`` in
  the month, status ``completed``); a step is counted for the department, role and person that
  owned it when it completed (after any handoff or reassignment). ``steps.csv`` lists exactly
  these, so per-person and per-role figures can be recounted from it.
- **Handling time**: a step's business seconds (its department's calendar, pauses excluded);
  **wall**: the same steps' wall-clock seconds from start to completion, shown beside it.
- **Handoffs**: the handoffs made in the month (``handoffs.occurred_at``): who handed which
  step to whom, and when (the step's projection keeps only its current owner).
- **Backlog ageing**: the report's unresolved requests by wall-clock age at report time.
- **First response**: wall-clock seconds from submission to the first claim, for requests of the
  month that had one (the projections keep the time, not the business duration; Prometheus'
  ``caseflow_first_response_business_seconds`` is in business seconds).
- **Average**: the arithmetic mean (``math.fsum``). **p90** (and **p50**): nearest rank: the
  values sorted ascending, the ``ceil(0.9 * n)``-th one (1-based), always an observed value;
  none for n = 0.
- **SLA compliance**: steps handled that did not breach their step SLA / steps handled; a step
  breached if its step clock breached at any time in its last run. **Breaches**: steps handled
  that breached. **Escalations**: escalation events on the step clocks of the steps handled
  (every level).
- **Reopen rate**: requests reopened at least once / requests resolved at least once (resolved
  now, or reopened, which needs an earlier resolution). **CSAT average**: mean of the latest
  satisfaction score (1-5) of the requests that have one.
- **Per person**: steps figures over the steps they handled; first response, reopen rate and
  CSAT over the requests of the month they own (``requests.owner_id``).
- **Per role** (department + role): steps figures over the steps handled in that role; first
  response, reopen rate and CSAT over the requests of the month that have a step in that role.
- **Filters**: ``--department`` keeps steps of that department, and requests owned by it or
  with a step in it; ``--role`` keeps steps in that role and requests with such a step (both
  together: steps in that role of that department). Request owners appear among the people only
  without ``--role``, and only for requests their department owns. ``person`` (one person's own
  view, for the API) keeps their steps and the requests they own or have a step in.

CSVs are UTF-8 with a byte-order mark (``utf-8-sig``): Excel, which Chinese users mostly open
them with, otherwise reads them in the ANSI code page (GBK) and garbles the Chinese text;
Python reads them with ``encoding="utf-8-sig"``. Durations are seconds (3 decimals), ratios
0..1 (4 decimals), times ISO 8601 with the zone offset, empty cells for no value."""
