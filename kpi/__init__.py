"""Per-role KPIs: the metrics workers export, the KPI collector served once per deployment, and
the monthly performance report."""
