"""Front-end assets served by the API (the console, report viewers), vendored from pinned npm
packages (vendor/VENDORED.md)."""

from importlib import resources


def vendored(name: str) -> str:
    """The text of a vendored file, e.g. "3Dmol-min.js"."""
    return resources.files("omtx.web").joinpath("vendor", name).read_text(encoding="utf-8")
