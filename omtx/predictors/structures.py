"""The target structure a docking or design model works on, as text.

Submit stores a request's structure in Cloud Storage and the batch keeps its gs:// URI (see
omtx.usecases.submit), while a request checked at submit still carries the text itself: the
models that need a structure (vina, rfantibody) read it through this one function."""

from __future__ import annotations


def load_structure(source: str) -> str:
    """Structure text from the request, or from Cloud Storage when submit stored it there."""
    if source.startswith("gs://"):
        # Imported on use: a model that never meets a gs:// URI needs no Google client.
        from omtx.gcp import storage

        return storage.get_bytes(source).decode()
    return source
