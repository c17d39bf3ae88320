"""AutoDock Vina docking on CPU: receptor and ligand preparation (meeko, RDKit), a killable
docking engine process, and outputs (SDF poses, complex mmCIF). The `vina` model in
omtx/predictors/vina/ ties them together. See shared research DOCKING.md for the measurements
behind each choice."""
