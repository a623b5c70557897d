"""Layer 4: what is kept on disk: the catalogue of models, spec files, checkpoints, snapshots, the lab."""
