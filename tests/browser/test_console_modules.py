"""The console's pure JavaScript (ligand parsing, CSV cells, column decimals, histogram bins) run
in Chromium, served from the package through Playwright's request routing: no stack needed."""

from pathlib import Path

import pytest

STATIC = Path(__file__).resolve().parents[2] / "omtx" / "web" / "static"
ORIGIN = "http://console.test"


@pytest.fixture(scope="module")
def page(browser):
    page = browser.new_page()

    def serve(route):
        name = route.request.url.removeprefix(f"{ORIGIN}/ui/static/")
        if name == route.request.url:
            route.fulfill(status=200, content_type="text/html", body="<!doctype html><title>modules</title>")
        else:
            route.fulfill(status=200, content_type="text/javascript", body=(STATIC / name).read_text())

    page.route(f"{ORIGIN}/**", serve)
    page.goto(f"{ORIGIN}/")
    yield page
    page.close()


def call(page, module: str, function: str, *args):
    return page.evaluate(
        """async ([module, fn, args]) => {
             const m = await import(`/ui/static/${module}`);
             try { return { value: m[fn](...args) }; }
             catch (e) { return { error: e.constructor.name, message: e.message }; }
           }""",
        [module, function, list(args)],
    )


@pytest.mark.parametrize(
    ("text", "filename", "rows"),
    [
        (
            "CCO ethanol\nc1ccccc1\n\n",
            "",
            [{"smiles": "CCO", "name": "ethanol", "line": 1}, {"smiles": "c1ccccc1", "line": 2}],
        ),
        ("CCO  ethyl alcohol", "x.smi", [{"smiles": "CCO", "name": "ethyl alcohol", "line": 1}]),
        (
            'Compound_ID,SMILES\nA1,CCO\n"B, 2",CCN\n"say ""hi""",C\n',
            "a.csv",
            [
                {"smiles": "CCO", "name": "A1", "line": 2},
                {"smiles": "CCN", "name": "B, 2", "line": 3},
                {"smiles": "C", "name": 'say "hi"', "line": 4},
            ],
        ),
        ("name\tsmiles\nx\tCCO\n", "a.tsv", [{"smiles": "CCO", "name": "x", "line": 2}]),
        ("ID;Smiles\ny;CCN", "", [{"smiles": "CCN", "name": "y", "line": 2}]),
        ("\ufeff# protein: MENF\r\nsmiles,name\r\nCCO,\r\n", "", [{"smiles": "CCO", "line": 3}]),
        ("smiles\n\nCCO\n# a comment\nCCN\n", "", [{"smiles": "CCO", "line": 3}, {"smiles": "CCN", "line": 5}]),
    ],
)
def test_ligand_text_is_read_into_rows_with_their_lines(page, text, filename, rows):
    assert call(page, "ligands.js", "parseLigands", text, filename) == {"value": rows}


@pytest.mark.parametrize(
    ("text", "filename", "message"),
    [
        ("name,weight\nx,1\n", "a.csv", "no SMILES column"),
        ("CCO\n", "ligands.sdf", "SDF"),
        ("\n  RDKit\n\n  0  0  0  0  0  0  0  0  0  0999 V2000\nM  END\n$$$$\n", "", "SDF"),
    ],
)
def test_unreadable_ligand_text_says_why(page, text, filename, message):
    answer = call(page, "ligands.js", "parseLigands", text, filename)
    assert answer["error"] == "LigandFormatError" and message in answer["message"]


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=HYPERLINK(1)", "'=HYPERLINK(1)"),
        ("-5", "'-5"),
        ("@x", "'@x"),
        (-5, "-5"),
        ("a,b", '"a,b"'),
        ('say "hi"', '"say ""hi"""'),
        ("two\nlines", '"two\nlines"'),
        (None, ""),
        (True, "true"),
    ],
)
def test_csv_cells_are_quoted_and_formulas_neutralised(page, value, cell):
    assert call(page, "dom.js", "csvCell", value) == {"value": cell}


@pytest.mark.parametrize(
    ("values", "decimals"),
    [([1, 2, 3], 0), ([1, 2.5, 0.125], 3), ([1 / 3], 4), (["x", None, 0.5], 1), ([1e-7], 4)],
)
def test_a_column_has_one_number_of_decimals(page, values, decimals):
    assert call(page, "dom.js", "decimalsOf", values) == {"value": decimals}


def test_histogram_bins_cover_every_value(page):
    assert call(page, "histogram.js", "binsOf", [0, 1, 0.5, 0.25], 2) == {
        "value": {"edges": [0, 0.5, 1], "counts": [2, 2]}
    }
    same = call(page, "histogram.js", "binsOf", [2, 2, 2], 4)["value"]
    assert sum(same["counts"]) == 3 and same["edges"][0] < 2 < same["edges"][-1]
