"""The target structure a docking or design model works on, as text.

`protein.structure` is PDB or mmCIF text, or a gs:// URI of a stored structure (which may reach
a model's submit-time check). The models that need a structure (vina, rfantibody) read it
through this one function. Who may name which stored structure is omtx.structures' concern,
decided before a model sees the reference."""

from __future__ import annotations


def load_structure(source: str) -> str:
    """Structure text from the request, or from Cloud Storage when submit stored it there."""
    if source.startswith("gs://"):
        # Imported on use: a model that never meets a gs:// URI needs no Google client.
        from omtx.gcp import storage

        return storage.get_bytes(source).decode()
    return source
