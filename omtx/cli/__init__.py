"""The `omtx` command line."""
