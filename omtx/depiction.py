"""Ligands as 2D drawings: an RDKit SVG per ligand, made once (the worker stores it as the job
file `ligand.svg`; the report draws its top hits), never per page view.

The SVG is inlined in report.html and may be inlined by the console, so it is reduced to an
allowlist of drawing elements and attributes: no script, no event handler, no link, no
external reference and no text node that could carry markup, whatever the input."""

from __future__ import annotations

import logging
import re
from xml.etree import ElementTree

log = logging.getLogger(__name__)

MEDIA_TYPE = "image/svg+xml"
FILE_NAME = "ligand.svg"
WIDTH, HEIGHT = 240, 180
SVG_NS = "http://www.w3.org/2000/svg"
PROLOG = re.compile(r"^\s*<\?xml[^>]*\?>")

# What RDKit's MolDraw2DSVG writes (atom labels are drawn as paths, not text).
ALLOWED_ELEMENTS = frozenset({"svg", "rect", "path", "ellipse", "circle", "line", "polyline", "polygon", "g"})
ALLOWED_ATTRIBUTES = frozenset(
    {
        "version",
        "width",
        "height",
        "viewBox",
        "x",
        "y",
        "x1",
        "y1",
        "x2",
        "y2",
        "cx",
        "cy",
        "r",
        "rx",
        "ry",
        "d",
        "points",
        "class",
        "style",
        "fill",
        "fill-rule",
        "stroke",
        "stroke-width",
        "stroke-linecap",
        "stroke-linejoin",
        "opacity",
        "transform",
    }
)
# In a style attribute: properties and plain values only (no url(), expression() or escapes).
SAFE_STYLE = re.compile(r"^[A-Za-z0-9 #.,:;%()_-]*$")


class UnsafeSvg(ValueError):
    """Not an SVG drawing (not well-formed XML, or its root is not <svg>)."""


def ligand_svg(smiles: str, width: int = WIDTH, height: int = HEIGHT) -> str:
    """A 2D drawing of the molecule, as a standalone SVG element (no XML prolog), sanitised."""
    from rdkit import Chem
    from rdkit.Chem import rdDepictor
    from rdkit.Chem.Draw import rdMolDraw2D

    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        raise ValueError(f"RDKit cannot parse {smiles!r}")
    rdDepictor.SetPreferCoordGen(True)
    rdDepictor.Compute2DCoords(mol)
    drawer = rdMolDraw2D.MolDraw2DSVG(width, height)
    options = drawer.drawOptions()
    options.clearBackground = False
    options.addStereoAnnotation = True
    drawer.DrawMolecule(mol)
    drawer.FinishDrawing()
    return sanitize(drawer.GetDrawingText())


def sanitize(svg: str) -> str:
    """The SVG rebuilt from ALLOWED_ELEMENTS and ALLOWED_ATTRIBUTES alone: any other element is
    dropped with everything inside it, any other attribute, namespaced attribute, unsafe style
    and all text are dropped; comments and processing instructions never survive parsing."""
    try:
        root = ElementTree.fromstring(PROLOG.sub("", svg, count=1))
    except ElementTree.ParseError as exc:
        raise UnsafeSvg(f"not well-formed XML: {exc}") from exc
    if root.tag != f"{{{SVG_NS}}}svg":
        raise UnsafeSvg(f"the root element is {root.tag!r}, not <svg>")
    ElementTree.register_namespace("", SVG_NS)
    return ElementTree.tostring(_clean(root), encoding="unicode")


def _clean(element: ElementTree.Element) -> ElementTree.Element:
    kept = ElementTree.Element(element.tag, {k: v for k, v in element.attrib.items() if _safe_attribute(k, v)})
    for child in element:
        if (
            isinstance(child.tag, str)
            and child.tag.startswith(f"{{{SVG_NS}}}")
            and _local(child.tag) in ALLOWED_ELEMENTS
        ):
            kept.append(_clean(child))
    return kept


def _safe_attribute(name: str, value: str) -> bool:
    if name.startswith("{") or name not in ALLOWED_ATTRIBUTES:
        return False  # a namespaced attribute (xlink:href, xml:base) is never drawing data
    if "url(" in value.lower() or "\\" in value:
        return False
    return name != "style" or bool(SAFE_STYLE.match(value))


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def drawing_or_none(smiles: str) -> str | None:
    """ligand_svg, or None when it cannot be drawn: a missing drawing never fails a job."""
    try:
        return ligand_svg(smiles)
    except Exception:
        log.warning("no 2D drawing for %r", smiles, exc_info=True)
        return None
