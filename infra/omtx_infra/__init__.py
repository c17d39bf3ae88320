"""OMTX-Hub's Google Cloud footprint as a Pulumi program (entry point: infra/__main__.py)."""
