"""``<run dir>/metrics.csv``: per-step and per-epoch values for a spreadsheet (:mod:`.logger`)."""
