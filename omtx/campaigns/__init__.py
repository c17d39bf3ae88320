"""Screening campaigns: an ordered funnel of stages, each an ordinary batch of the ligands the
previous stage's selection rule kept. This package is the pure part (the plan, its rules, the
selection and the results table); state lives in omtx/gcp/firestore/campaigns.py and the
event-driven steps in omtx/usecases/campaigns.py."""
