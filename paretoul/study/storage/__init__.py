"""Where a study's results live: the Optuna results database (:mod:`.store`), launcher leases,
the study directory's layout, status counts, the read model of its trials (:mod:`.records`),
the trial outcomes every reader shares (:mod:`.outcome`), and the one module that touches
Optuna's private storage (:mod:`.optuna_internals`)."""
