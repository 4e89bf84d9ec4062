"""The dataset rows: one module each, exporting ``DATASET`` (see :mod:`aelab.data.dataset`)."""
