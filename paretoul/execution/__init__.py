"""How work runs, below the study and the audit: Ray start/stop and its reaper, shipping the
shared artefacts to workers, the trial runner, hard stops, interrupts, progress, and one task
fan-out (:mod:`.fanout`) that validation and the audit share."""
