"""One module per pipeline stage; each exposes the use case its service handler calls."""
