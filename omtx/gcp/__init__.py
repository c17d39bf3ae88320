"""Adapters over the Google client libraries: the only modules that import them."""
