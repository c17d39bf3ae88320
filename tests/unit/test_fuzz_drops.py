"""Hypothesis on the CSV drop format: any bytes give a batch or a DropError (never a crash), an
error about one cell names its file line and column, and every valid file a spreadsheet or a
script may write (BOM, CRLF, UTF-16, quoted fields, ; or tab, the usual column names, comment
header, extra columns) reads back as the ligands that were written, each with its file line."""

import codecs
import csv
import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from omtx.drops import DropError, parse

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SEQ = "MENFQKVEKIGEGTYGVVYKARNKLTG"

SMILES_HEADERS = ["smiles", "SMILES", "Smiles", "Canonical_SMILES", "canonical smiles", "isomeric-smiles", "smi", "SMI"]
NAME_HEADERS = ["name", "Name", "ID", "Compound_ID", "compound id", "ZINC_ID", "ChEMBL ID", "Title", "Ligand Name"]
SMILES = ["CCO", "c1ccccc1", "CC(=O)Oc1ccccc1C(=O)O", "C[C@@H](N)C(=O)O", "CC(=O)[O-].[Na+]", "N#N", "[NH4+]"]
# Names as people write them: delimiters, quotes and line breaks inside (quoted on write).
names = st.text(
    alphabet=st.characters(exclude_categories=["Cs", "Cc"]) | st.sampled_from(",;\t\"'\n"), min_size=1, max_size=30
).filter(str.strip)


@st.composite
def drops(draw: st.DrawFn) -> tuple[bytes, list[tuple[str | None, str]], list[int]]:
    """(file, the ligands it holds, the file line of each ligand row)."""
    delimiter = draw(st.sampled_from([",", ";", "\t"]))
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    header = [f"# protein: {SEQ}"] + draw(st.sampled_from([[], ["# model: instant"], ["", "# name: screen 1"]]))
    with_names = draw(st.booleans())
    columns = [draw(st.sampled_from(SMILES_HEADERS))]
    if with_names:
        columns.insert(draw(st.integers(0, 1)), draw(st.sampled_from(NAME_HEADERS)))
    columns.insert(draw(st.integers(0, len(columns))), "activity")
    rows = draw(
        st.lists(st.tuples(names if with_names else st.none(), st.sampled_from(SMILES)), min_size=1, max_size=8)
    )
    out = io.StringIO()
    out.write(newline.join(header) + newline)
    writer = csv.writer(out, delimiter=delimiter, lineterminator=newline)
    writer.writerow(columns)
    line = len(header) + 2  # the first row's file line (1-based)
    lines = []
    for name, smiles in rows:
        activity = repr(draw(st.floats(allow_nan=False, allow_infinity=False)))
        record = [smiles if c in SMILES_HEADERS else name if c in NAME_HEADERS else activity for c in columns]
        writer.writerow(record)
        lines.append(line)
        line += sum(cell.count("\n") for cell in record) + 1
        if draw(st.booleans()):
            out.write(newline)  # a blank line between rows is skipped
            line += 1
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16"]))
    data = out.getvalue().encode(encoding)
    assert encoding != "utf-8-sig" or data.startswith(codecs.BOM_UTF8)
    return data, rows, lines


@FUZZ
@given(drops())
def test_every_valid_file_reads_back_as_written(drop):
    data, rows, lines = drop
    parsed = parse(data)
    assert parsed.request.protein.sequence == SEQ
    # Names lose their surrounding spaces.
    expected = [(n.strip() if n is not None else None, smiles) for n, smiles in rows]
    assert [(lig.name, lig.smiles) for lig in parsed.request.ligands] == expected
    assert parsed.lines == lines


@FUZZ
@given(st.binary(max_size=2_000))
def test_any_bytes_give_a_batch_or_a_drop_error(data):
    try:
        parse(data)
    except DropError as exc:
        assert str(exc)


@FUZZ
@given(st.text(max_size=400).map(lambda t: f"# protein: {SEQ}\nname,smiles\n{t}"))
def test_any_text_under_a_valid_header_gives_a_batch_or_a_drop_error(text):
    for encoding in ("utf-8", "utf-16"):
        try:
            parse(text.encode(encoding, errors="surrogatepass"))
        except DropError as exc:
            assert str(exc)


@FUZZ
@given(
    st.sampled_from([",", ";", "\t"]),
    st.sampled_from(SMILES_HEADERS),
    st.sampled_from(NAME_HEADERS),
    st.integers(0, 5),
    st.sampled_from(
        [("name", "n" * 201, "at most 200 characters"), ("smiles", "C" * 5_001, "at most 5000 characters")]
    ),
)
def test_an_error_in_one_cell_is_its_rows_problem_with_its_line(delimiter, smiles_header, name_header, good, bad):
    # Issue 12: a cell the schema refuses used to refuse the whole file; now it is one bad row,
    # skippable, reported with its line (the result file's `line`, from ParsedDrop.lines).
    field, value, message = bad
    bad_name, bad_smiles = (value, "CCO") if field == "name" else ("bad", value)
    rows = [[f"ligand-{i}", "CCO"] for i in range(good)] + [[bad_name, bad_smiles]]
    lines = [f"# protein: {SEQ}", delimiter.join([name_header, smiles_header])]
    lines += [delimiter.join(row) for row in rows]
    parsed = parse("\n".join(lines).encode())
    assert [bool(lig.problems) for lig in parsed.request.ligands] == [False] * good + [True]
    (problem,) = parsed.request.ligands[good].problems
    assert problem["loc"] == ["ligands", good, field] and message in problem["msg"]
    assert parsed.lines[good] == len(lines)


def test_deeply_nested_json_in_a_header_is_a_drop_error_not_a_crash():
    with pytest.raises(DropError, match=r"'# params:' \(line 2\) is not valid JSON"):
        parse(f"# protein: {SEQ}\n# params: {'[' * 100_000}\nsmiles\nCCO\n".encode())


@FUZZ
@given(st.binary(max_size=3_000), st.sampled_from(["x.smi", "x.sdf", "x.tsv"]))
def test_any_bytes_in_any_format_give_rows_or_a_library_error(data, filename):
    from omtx.libraries import LibraryError, parse_library

    try:
        library = parse_library(data, filename)
    except LibraryError as exc:
        assert str(exc)
    else:
        assert library.rows and all(row.line >= 1 for row in library.rows)


@FUZZ
@given(
    st.lists(
        st.sampled_from(["M  END", "$$$$", "", "> <ID>", "x", "  1  0  0  0  0  0  0  0  0  0999 V2000"]), max_size=40
    )
)
def test_any_arrangement_of_sdf_lines_gives_rows_or_a_library_error(lines):
    from omtx.libraries import LibraryError, parse_library

    try:
        library = parse_library("\n".join(lines).encode(), "x.sdf")
    except LibraryError as exc:
        assert "no records" in str(exc)
    else:
        assert [row.record for row in library.rows] == list(range(1, len(library.rows) + 1))
