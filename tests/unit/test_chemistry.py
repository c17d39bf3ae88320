from omtx.chemistry.ligands import validate_ligands
from omtx.chemistry.smiles import inchikey
from omtx.domain import LigandIn


def test_valid_ligands_get_canonical_smiles_and_inchikey():
    valid, errors = validate_ligands([LigandIn(name="aspirin", smiles="OC(=O)c1ccccc1OC(C)=O")])
    assert errors == []
    (aspirin,) = valid
    assert aspirin.smiles == "OC(=O)c1ccccc1OC(C)=O"  # the user's string is kept
    assert aspirin.canonical_smiles == "CC(=O)Oc1ccccc1C(=O)O"
    assert aspirin.heavy_atoms == 13
    # computed when the job is written (fan-out), from the canonical form
    assert inchikey(aspirin.canonical_smiles) == "BSYNRYMUTXBXSQ-UHFFFAOYSA-N"


def test_every_bad_row_is_reported_with_its_row_and_reason():
    rows = [
        LigandIn(smiles="CCO"),
        LigandIn(smiles="C1CC"),  # unclosed ring
        LigandIn(smiles="C(C)(C)(C)(C)C"),  # pentavalent carbon
        LigandIn(smiles="c1ccccc1"),
        LigandIn(smiles="CC O"),
    ]
    valid, errors = validate_ligands(rows)
    assert [v.row for v in valid] == [0, 3]
    assert [e["loc"] for e in errors] == [
        ["ligands", 1, "smiles"],
        ["ligands", 2, "smiles"],
        ["ligands", 4, "smiles"],
    ]
    assert "syntax" in errors[0]["msg"]
    assert "valence" in errors[1]["msg"].lower()
    assert "whitespace" in errors[2]["msg"]
    assert errors[1]["input"] == "C(C)(C)(C)(C)C"


def test_salts_are_stripped_and_reported():
    (ligand,), errors = validate_ligands([LigandIn(smiles="CC(=O)[O-].[Na+]")])
    assert errors == []
    assert ligand.canonical_smiles == "CC(=O)[O-]"
    assert "largest of 2 fragments" in ligand.warnings[0]


def test_names_are_generated_and_duplicates_rejected():
    valid, errors = validate_ligands(
        [LigandIn(smiles="C"), LigandIn(name="x", smiles="CC"), LigandIn(name="x", smiles="CCC")]
    )
    assert [v.name for v in valid] == ["ligand-1", "x"]
    assert errors == [
        {"loc": ["ligands", 2, "name"], "msg": "duplicate ligand name (first used by row 1)", "input": "x"}
    ]


def test_large_batches_are_validated_in_parallel_with_the_same_result(monkeypatch):
    import omtx.chemistry.ligands as chemistry

    # repeated strings are parsed once: 12 distinct strings, each repeated
    unique = ["CCO", "C1CC", "c1ccccc1", "CC(=O)[O-].[Na+]", "OCC", "XX"] + [f"C{'C' * n}O" for n in range(1, 7)]
    rows = [LigandIn(smiles=s) for s in unique * 3]
    serial = validate_ligands(rows)
    monkeypatch.setattr(chemistry, "PARALLEL_FROM", 10)
    monkeypatch.setattr(chemistry.os, "cpu_count", lambda: 2)
    assert validate_ligands(rows) == serial
    assert chemistry._pool is not None  # the pool really ran


def test_a_dropped_fragment_that_is_not_a_salt_refuses_the_row():
    valid, errors = validate_ligands(
        [
            LigandIn(name="ferrocene", smiles="[CH-]1C=CC=C1.[CH-]1C=CC=C1.[Fe+2]"),
            LigandIn(name="sodium acetate", smiles="CC(=O)[O-].[Na+]"),
        ]
    )
    assert [e["loc"] for e in errors] == [["ligands", 0, "smiles"]]
    assert "would drop a component containing Fe" in errors[0]["msg"]
    assert [v.name for v in valid] == ["sodium acetate"]


def test_elements_a_model_cannot_handle_are_refused():
    from omtx.domain import Limits

    valid, errors = validate_ligands(
        [LigandIn(smiles="OB(O)c1ccccc1"), LigandIn(smiles="CCO")], Limits(allowed_elements=frozenset("CHNO"))
    )
    assert errors[0]["msg"] == "element(s) B cannot be handled by this model" and len(valid) == 1
