"""The floor caseflow's lifecycle is measured against: a bare Temporal workflow of the same
externally visible shape (see workflow.py), with no domain and no projections."""
