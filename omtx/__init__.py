"""OMTX-Hub: batch protein–ligand predictions as event-driven services on Google Cloud."""

__version__ = "0.1.0"
