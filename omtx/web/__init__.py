"""Front-end assets served by the API (the console, report viewers), vendored from pinned npm packages."""
