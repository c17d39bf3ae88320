"""The batch report: one self-contained HTML page (no CDN, no network needed to open it)."""
