"""TensorBoard: one SummaryWriter per run in ``<run dir>/tb`` (:mod:`.logger`)."""
