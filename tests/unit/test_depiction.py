"""2D drawings of ligands (omtx.depiction): RDKit's SVG, reduced to drawing primitives so it can
be inlined in report.html and the console whatever it holds."""

import re
from xml.etree import ElementTree

import pytest

from omtx.depiction import ALLOWED_ATTRIBUTES, ALLOWED_ELEMENTS, UnsafeSvg, drawing_or_none, ligand_svg, sanitize

LIGANDS = [
    "Nc1ncnc2c1ncn2[C@H]1C[C@H](O)[C@@H](CO)O1",  # stereocentres (drawn with wedges and labels)
    "C[N+](C)(C)CC(=O)[O-]",  # charges
    "[2H]C([2H])([2H])Oc1ccccc1",  # isotopes
    "Cc1cn([C@H]2C[C@H](N=[N+]=[N-])[C@@H](CO)O2)c(=O)[nH]c1=O",
    "C1CC2CCC1CC2",  # bridged
]


@pytest.mark.parametrize("smiles", LIGANDS)
def test_every_drawing_is_only_drawing_primitives(smiles):
    svg = ligand_svg(smiles)
    assert svg.startswith("<svg") and "<?xml" not in svg  # inlinable as is
    root = ElementTree.fromstring(svg)
    for element in root.iter():
        assert element.tag.rsplit("}", 1)[-1] in ALLOWED_ELEMENTS
        assert set(element.attrib) <= ALLOWED_ATTRIBUTES
        assert not (element.text or "").strip()
    assert len(root.findall(".//{http://www.w3.org/2000/svg}path")) > 5  # bonds and labels drawn


def test_the_drawing_is_deterministic():
    assert ligand_svg(LIGANDS[0]) == ligand_svg(LIGANDS[0])


HOSTILE = """<?xml version='1.0' encoding='iso-8859-1'?>
<svg xmlns='http://www.w3.org/2000/svg' xmlns:xlink='http://www.w3.org/1999/xlink' onload='alert(1)' width='10'>
<script>alert(2)</script>
<path d='M0 0' onclick='x()' style='fill:url(javascript:alert(3))'/>
<a xlink:href='javascript:alert(4)'><path d='M1 1'/></a>
<foreignObject><div xmlns='http://www.w3.org/1999/xhtml'>&lt;img src=x onerror=alert(5)&gt;</div></foreignObject>
<use xlink:href='data:image/svg+xml,&lt;svg onload=alert(6)&gt;'/>
<image href='https://example.com/x.png'/>
<style>@import url(https://example.com/x.css)</style>
<!-- <script>alert(7)</script> -->
<g transform='scale(2)'>text<path d='M2 2' stroke='red' fill='url(#g)'/><text x='1'>&lt;b&gt;</text></g>
</svg>"""


def test_anything_but_drawing_primitives_is_removed():
    clean = sanitize(HOSTILE)
    assert not re.search(
        r"script|onload|onclick|href|foreignObject|javascript|url\(|<use|<image|<style|<text|alert", clean
    )
    root = ElementTree.fromstring(clean)
    assert [e.tag.rsplit("}", 1)[-1] for e in root.iter()] == ["svg", "path", "g", "path"]
    assert root.find("{http://www.w3.org/2000/svg}path").get("style") is None  # url() style dropped
    assert root.find(".//{http://www.w3.org/2000/svg}g/{http://www.w3.org/2000/svg}path").get("stroke") == "red"


@pytest.mark.parametrize(
    ("text", "message"),
    [("<svg", "not well-formed"), ("<html xmlns='http://www.w3.org/1999/xhtml'/>", "not <svg>")],
)
def test_what_is_not_an_svg_is_refused(text, message):
    with pytest.raises(UnsafeSvg, match=message):
        sanitize(text)


def test_a_ligand_that_cannot_be_drawn_gives_no_drawing():
    assert drawing_or_none("C1CC") is None  # never fails the job that asked for it
