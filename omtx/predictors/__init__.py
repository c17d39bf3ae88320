"""Prediction models, one subpackage each (boltz2/, chai1/, …), whose `__init__` holds the model's
`SPEC`. `registry` finds them by folder; `base` is the contract they implement; the modules
beside it (ligand_triage, msa_cache) are what more than one model shares."""
