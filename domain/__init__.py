"""Pure, deterministic domain of caseflow: no I/O, no wall clock, no framework imports."""
