"""SD files: every record a row (named by its title line or a data item), every unreadable
record a row with its problem, its record number and line; the file streamed."""

import os

import pytest
from rdkit import Chem
from rdkit.Chem import AllChem

from omtx.libraries import LibraryError, parse_library
from omtx.libraries.sdf import MAX_RECORD_BYTES


def record(smiles: str, title: str = "", items: dict[str, str] | None = None, *, v3000: bool = False) -> str:
    mol = Chem.MolFromSmiles(smiles)
    mol.SetProp("_Name", title)
    block = Chem.MolToV3KMolBlock(mol) if v3000 else Chem.MolToMolBlock(mol)
    return block + "".join(f">  <{tag}>\n{value}\n\n" for tag, value in (items or {}).items()) + "$$$$\n"


def rows(data: bytes | str, **kw):
    library = parse_library(data.encode() if isinstance(data, str) else data, "lib.sdf", **kw)
    return library, [(r.smiles, r.name, r.line, r.record, r.problem) for r in library.rows]


def test_records_become_smiles_named_by_title_or_a_name_item():
    text = record("CCO", "ethanol", {"ID": "E1"}) + record("c1ccccc1", "benzene") + record("CCN", "", {"Name": "EA"})
    library, got = rows(text)
    assert [(s, n, rec) for s, n, _, rec, _ in got] == [
        ("CCO", "ethanol", 1),
        ("c1ccccc1", "benzene", 2),
        ("CCN", "EA", 3),
    ]
    assert got[1][2] == text.split("\n").index("benzene") + 1  # each record's first line
    assert library.format == "sdf" and library.encoding == "utf-8" and library.warnings == []


def test_name_field_picks_a_data_item_and_says_which_records_lack_it():
    text = record("CCO", "ethanol", {"Catalog ID": "Z1"}) + record("CCN", "ethylamine")
    library, got = rows(text, name_field="Catalog ID")
    assert [n for _, n, *_ in got] == ["Z1", "ethylamine"]
    assert library.warnings == [
        "name_field 'Catalog ID' is missing or empty in 1 record(s) (2): their title line names them"
    ]


def test_v3000_and_stereo_from_wedges_and_3d_coordinates_are_kept():
    mol = Chem.AddHs(Chem.MolFromSmiles("C[C@H](N)C(=O)O"))
    AllChem.EmbedMolecule(mol, randomSeed=7)
    mol.SetProp("_Name", "L-Ala 3D")
    text = record("C[C@@H](O)CC", "wedged", v3000=True) + Chem.MolToMolBlock(mol) + "\n$$$$\n"
    _, got = rows(text)
    assert [(s, n) for s, n, *_ in got] == [("CC[C@@H](C)O", "wedged"), ("C[C@H](N)C(=O)O", "L-Ala 3D")]


def test_charges_isotopes_and_radicals_reach_the_ligand_policy_unchanged():
    text = record("[NH3+]CC([O-])=O", "zwitterion") + record("[2H]C([2H])([2H])O", "d3") + record("C[CH2]", "radical")
    _, got = rows(text)
    assert [s for s, *_ in got] == ["[NH3+]CC(=O)[O-]", "[2H]C([2H])([2H])O", "[CH2]C"]


def test_a_truncated_record_is_its_own_problem_and_the_others_are_read():
    good, cut = record("CCO", "first"), record("c1ccccc1", "cut short")
    cut = "\n".join(cut.split("\n")[:8]) + "\nM  END\n$$$$\n"  # 6 atoms and 6 bonds announced, 4 lines given
    _, got = rows(good + cut + record("CCN", "third"))
    assert [(s, n, p) for s, n, _, _, p in got][0::2] == [("CCO", "first", None), ("CCN", "third", None)]
    start = good.count("\n") + 1
    assert got[1][:4] == ("", "cut short", start, 2)
    assert f"counts line (line {start + 3}) announces 6 atoms and 6 bonds, and only 4 lines come before" in got[1][4]


def test_a_file_cut_mid_record_names_the_last_record_and_warns():
    text = record("CCO", "ok") + record("CCCCCC", "cut")[:120]
    library, got = rows(text)
    assert got[1][3] == 2 and got[1][4] is not None
    assert "does not end with a '$$$$' line" in library.warnings[0] and "record 2" in library.warnings[0]


def test_a_missing_final_dollar_line_still_reads_a_complete_record_but_says_so():
    library, got = rows(record("CCO", "ok").removesuffix("$$$$\n"))
    assert got == [("CCO", "ok", 1, 1, None)] and "does not end with a '$$$$'" in library.warnings[0]


def test_a_missing_dollar_line_between_two_records_is_named():
    first, second = record("CCO", "a"), record("CCN", "b")
    _, got = rows(first.removesuffix("$$$$\n") + second + record("CCC", "c"))
    assert got[0][3:] == (
        1,
        f"two molfiles in one record ('M  END' on lines {first.count(chr(10)) - 1} and "
        f"{first.count(chr(10)) - 1 + second.count(chr(10)) - 1}): the '$$$$' line between them is missing",
    )
    assert got[1][:2] == ("CCC", "c") and got[1][3] == 2


def test_empty_and_duplicate_names_are_rows_the_batch_rules_judge():
    from omtx.drops import parse
    from omtx.usecases.submit import validate

    text = record("CCO", "") + record("CCN", "dup") + record("CCC", "dup")
    parsed = parse(text.encode(), "lib.sdf", _request())
    assert [lig.name for lig in parsed.request.ligands] == [None, "dup", "dup"]
    checked = validate(parsed.request)
    assert checked.ligands[0].name == "ligand-1"
    (duplicate,) = parsed.library.locate(checked.rejected)
    assert duplicate["record"] == 3 and "duplicate ligand name" in duplicate["msg"]


def test_bad_chemistry_and_unknown_elements_are_named_by_rdkit():
    valence = record("CCO", "pentavalent").replace("  2  3  1  0", "  2  3  3  0")
    element = record("CCO", "xx").replace(" O   0", " Xx  0")
    _, got = rows(valence + element)
    assert got[0][4].startswith("invalid chemistry: Explicit valence for atom # 2 O")
    assert got[1][4] == "RDKit could not read the molfile: Element 'Xx' not found"


def test_cp1252_and_utf16_files_and_the_warning_that_quotes_the_name():
    text = record("CCO", "Ethanol 5 µM") + record("CCN", "Straße")
    library, got = rows(text.encode("cp1252"))
    assert [n for _, n, *_ in got] == ["Ethanol 5 µM", "Straße"] and library.encoding == "cp1252"
    assert "read as Windows-1252" in library.warnings[0] and "'Ethanol 5 µM'" in library.warnings[0]
    assert "1 more record(s) too: 2" in library.warnings[0]
    library, got = rows(text.encode("utf-16"))
    assert [n for _, n, *_ in got] == ["Ethanol 5 µM", "Straße"] and library.encoding == "utf-16"
    library, got = rows(text.encode("utf-8"))
    assert library.encoding == "utf-8" and library.warnings == []


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "no records"),
        (b"\n\n$$$$\n\n", "no records"),
        (b"\x00\x01\x02garbage" * 50, "binary file"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary file"),
        (b"x" * (2 << 20), "longer than"),
    ],
)
def test_files_that_are_not_sd_files_say_why(data, message):
    with pytest.raises(LibraryError, match=message):
        parse_library(data, "lib.sdf")


def test_garbage_text_is_a_row_problem_not_a_crash():
    _, got = rows(os.urandom(3000).replace(b"\x00", b"") + b"\n$$$$\n")
    assert all(problem for *_, problem in got)


def test_a_huge_record_is_refused_without_being_held():
    huge = record("CCO", "big", {"blob": "x" * 1000 + ("\n" + "y" * 1000) * (MAX_RECORD_BYTES // 1000)})
    _, got = rows(huge + record("CCN", "after"))
    assert "over 4 MiB" in got[0][4] and got[1][:2] == ("CCN", "after")


def test_max_rows_stops_a_large_file_early():
    with pytest.raises(LibraryError, match="more than 2 records"):
        parse_library(iter([record("CCO", str(i)).encode() for i in range(5)]), "lib.sdf", max_rows=2)


def test_chunks_split_anywhere_read_the_same():
    text = (record("CCO", "a") + record("c1ccccc1", "b", v3000=True)).replace("\n", "\r\n").encode()
    whole = parse_library(text, "x.sdf").rows
    for size in (1, 7, 64):
        assert parse_library(iter([text[i : i + size] for i in range(0, len(text), size)]), "x.sdf").rows == whole


def _request():
    from omtx.drops import LibraryRequest

    return LibraryRequest.model_validate({"protein": {"sequence": "MENFQKVEKIGEGTYGVVYKARNKLTG"}, "on_invalid": "skip"})
