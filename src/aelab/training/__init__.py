"""Training: ``train(cfg)`` (:mod:`.loop`) and what it is made of — the state a checkpoint holds
(:mod:`.state`), its commits (:mod:`.commit`), an epoch (:mod:`.epoch`), the step (:mod:`.step`),
optimizers and schedules (:mod:`.optim`), losses (:mod:`.losses`), checkpoints (:mod:`.checkpoint`),
the run directory (:mod:`.rundir`), resuming (:mod:`.resume`), layer-wise pretraining
(:mod:`.pretrain`) and Ctrl-C (:mod:`.interrupt`). Importing the package imports none of them."""
