"""SMILES files, CSV tables and the encodings chemists' tools write them in."""

import codecs

import pytest

from omtx.libraries import LibraryError, format_of, parse_library, stem_of
from omtx.libraries.encoding import decode


def rows(data: bytes, filename: str, **kw):
    library = parse_library(data, filename, **kw)
    return library, [(r.smiles, r.name, r.line, r.problem) for r in library.rows]


# --- SMILES files -----------------------------------------------------------------------------


def test_smiles_then_whitespace_then_the_rest_of_the_line_is_the_name():
    data = b"CCO ethanol\nc1ccccc1\tbenzene ring\n\n# a comment\nCCN   \nCCC propane  \r\n"
    library, got = rows(data, "lib.smi")
    assert got == [
        ("CCO", "ethanol", 1, None),
        ("c1ccccc1", "benzene ring", 2, None),
        ("CCN", None, 5, None),
        ("CCC", "propane", 6, None),
    ]
    assert library.format == "smi" and library.header.values == {}


@pytest.mark.parametrize("title", ["SMILES Name", "smiles\tname", "Canonical_SMILES ID", "SMILES"])
def test_a_title_line_is_recognised_as_rdkit_writes_it(title):
    _, got = rows(f"{title}\nCCO ethanol\n".encode(), "lib.smiles")
    assert got == [("CCO", "ethanol", 2, None)]


def test_a_title_line_with_columns_makes_a_table_and_name_field_picks_one():
    data = b"# protein: MENFQKVEKIGEGTYG\nSMILES\tMW\tCompound ID\nCCO\t46\tZ1\nCCN\t45\tZ2\n"
    library, got = rows(data, "lib.smi")
    assert [n for _, n, *_ in got] == ["Z1", "Z2"] and library.header.values["protein"] == "MENFQKVEKIGEGTYG"
    _, got = rows(data, "lib.smi", name_field="MW")
    assert [n for _, n, *_ in got] == ["46", "45"]
    with pytest.raises(LibraryError, match="name_field 'ID' names a column, and this SMILES file has no title"):
        parse_library(b"CCO ethanol\n", "lib.smi", name_field="ID")


def test_a_cxsmiles_extension_is_a_row_problem_not_a_name():
    _, got = rows(b"C[C@H](O)CC |&1:1| racemic\nCCO ok\n", "lib.smi")
    assert got[0][0] == "C[C@H](O)CC" and "CXSMILES extension ('|&1:1|')" in got[0][3] and got[1][3] is None


def test_only_tab_and_space_separate_a_no_break_space_stays_in_the_smiles():
    _, got = rows("CCO\u00a0ethanol\nCCN\u2003x\n".encode(), "lib.smi")
    assert [s for s, *_ in got] == ["CCO\u00a0ethanol", "CCN\u2003x"]  # the ligand policy names the character


def test_a_csv_named_smi_is_refused_with_the_fix():
    with pytest.raises(LibraryError, match="looks like a CSV file .* name it .csv"):
        parse_library(b"smiles,name\nCCO,ethanol\n", "lib.smi")


@pytest.mark.parametrize("data", [b"", b"   \n", b"# only\n# comments\n", b"SMILES Name\n"])
def test_a_smiles_file_without_molecules_says_so(data):
    with pytest.raises(LibraryError, match="empty|no SMILES lines"):
        parse_library(data, "lib.smi")


# --- encodings --------------------------------------------------------------------------------

TABLE = "name,smiles\nEthanol 5 µM,CCO\nStraße,CCN\n"


@pytest.mark.parametrize(
    ("encoded", "encoding", "warned"),
    [
        (TABLE.encode("utf-8"), "utf-8", False),
        (codecs.BOM_UTF8 + TABLE.encode("utf-8"), "utf-8-sig", False),
        (TABLE.encode("utf-16"), "utf-16", False),
        (codecs.BOM_UTF16_BE + TABLE.encode("utf-16-be"), "utf-16", False),
        (TABLE.encode("utf-16-le"), "utf-16-le", True),
        (TABLE.encode("cp1252"), "cp1252", True),
        (TABLE.replace("\n", "\r\n").encode("cp1252"), "cp1252", True),
    ],
    ids=["utf8", "utf8-bom", "utf16-bom", "utf16be-bom", "utf16le-no-bom", "cp1252", "cp1252-crlf"],
)
def test_excel_and_friends_encodings_read_back_the_same_names(encoded, encoding, warned):
    library, got = rows(encoded, "lib.csv")
    assert [(s, n) for s, n, *_ in got] == [("CCO", "Ethanol 5 µM"), ("CCN", "Straße")]
    assert library.encoding == encoding and bool(library.warnings) == warned


def test_the_cp1252_warning_says_where_and_what_it_read():
    (warning,) = parse_library(TABLE.encode("cp1252"), "lib.csv").warnings
    assert warning.startswith("not UTF-8 (byte 0xb5 at line 2): read as Windows-1252 (cp1252)")
    assert "'Ethanol 5 µM,CCO'" in warning and "CSV UTF-8" in warning


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"name,smiles\nx,CCO\x81\n", r"neither UTF-8 nor Windows-1252: byte 0x81 at line 2"),
        (codecs.BOM_UTF8 + b"smiles\nCC\xe9\n", "UTF-8 byte-order mark but is not valid UTF-8"),
        (b"\xff\xfe" + "smiles\n".encode("utf-16-le") + b"\x00", "not valid UTF-16"),
        (b"smiles\nCCO\x00\x00\x01\x02", "binary file"),
        (b"PK\x03\x04\x14\x00\x06\x00", "binary file"),  # an .xlsx renamed .csv
    ],
)
def test_undecodable_files_say_which_byte(data, message):
    with pytest.raises(LibraryError, match=message):
        decode(data)


def test_file_names_pick_the_format_and_the_stem():
    assert [format_of(n) for n in ("a.CSV", "a.tsv", "a.smi", "a.SMILES", "a.sdf", "a.sd", "a.json", "a")] == [
        "csv",
        "csv",
        "smi",
        "smi",
        "sdf",
        "sdf",
        None,
        None,
    ]
    assert stem_of("drops/x/screen.v2.sdf") == "drops/x/screen.v2" and stem_of("screen.json") == "screen.json"
    with pytest.raises(LibraryError, match="Excel workbook: save it as 'CSV UTF-8'"):
        parse_library(b"PK", "hits.xlsx")


def test_csv_name_field_names_the_name_column():
    _, got = rows(b"Catalog ID,SMILES,Name\nZ1,CCO,ethanol\n", "lib.csv", name_field="catalog id")
    assert got == [("CCO", "Z1", 2, None)]
    with pytest.raises(LibraryError, match="name_field 'Vendor' is not a column"):
        parse_library(b"smiles\nCCO\n", "lib.csv", name_field="Vendor")
    with pytest.raises(LibraryError, match="give it once"):
        parse_library(b"# name_field: ID\nID,smiles\nx,CCO\n", "lib.csv", name_field="Name")
