"""Issue 12, the front door: no molecule silently changed, things that are not ligands refused by
LIGAND_POLICY, and every bad row (schema or chemistry) named in one answer or skipped."""

import pytest

from omtx.chemistry.ligands import validate_ligands
from omtx.chemistry.policy import LIGAND_POLICY, Verdict
from omtx.chemistry.smiles import Molecule, describe
from omtx.domain import BatchRequest, LigandIn
from omtx.errors import InputError
from omtx.usecases.submit import fingerprint, read_request, validate

SEQ = "MENFQKVEKIGEGTYGVVYKARNKLTG"


def refusal(smiles: str) -> str:
    outcome = describe(smiles)
    assert isinstance(outcome, str), f"{smiles!r} accepted as {outcome}"
    return outcome


def accepted(smiles: str) -> Molecule:
    outcome = describe(smiles)
    assert isinstance(outcome, Molecule), f"{smiles!r} refused: {outcome}"
    return outcome


@pytest.mark.parametrize(
    ("smiles", "named"),
    [
        ("CC（C）O", ["character 3 is U+FF08 FULLWIDTH LEFT PARENTHESIS", "character 5 is U+FF09"]),
        ("Ｃ", ["character 1 is U+FF23 FULLWIDTH LATIN CAPITAL LETTER C (looks like 'C')"]),
        ("CCＯ", ["character 3 is U+FF2F FULLWIDTH LATIN CAPITAL LETTER O"]),
        ("CC\u00a0O", ["character 3 is U+00A0 NO-BREAK SPACE"]),
        ("CCO\u00a0", ["character 4 is U+00A0 NO-BREAK SPACE"]),  # trailing: not trimmed either
        ("Cα", ["character 2 is U+03B1 GREEK SMALL LETTER ALPHA"]),  # RDKit alone reads this as methane
        ("  Cα", ["character 4 is U+03B1"]),  # counted in the string as sent
        ("C–C", ["character 2 is U+2013 EN DASH"]),
    ],
)
def test_a_non_ascii_character_is_refused_naming_its_position_and_code_point(smiles, named):
    message = refusal(smiles)
    assert message.startswith("SMILES is ASCII only: ")
    for part in named:
        assert part in message


def test_many_non_ascii_characters_are_counted_not_all_listed():
    message = refusal("Ｃ" * 8)
    assert "character 5 is" in message and "character 6 is" not in message and "and 3 more" in message


@pytest.mark.parametrize("smiles", ["[Na+].[Cl-]", "O", "[Na+].[Na+].[O-]S(=O)(=O)[O-]", "[Cu+2].[Cl-].[Cl-]", "N#N"])
def test_nothing_organic_left_after_salt_stripping_is_refused(smiles):
    assert refusal(smiles).startswith("no organic component: ")


@pytest.mark.parametrize(
    ("smiles", "atom"),
    [("C[CH2]", "atom 2 is [CH2] with 1 unpaired electron"), ("[CH3]", "atom 1"), ("CC[C]", "atom 3")],
)
def test_radicals_are_refused_naming_the_atom(smiles, atom):
    message = refusal(smiles)
    assert message.startswith("a radical, not a ligand: ") and atom in message


def test_a_transition_metal_ion_is_judged_as_a_salt_not_as_a_radical():
    # RDKit gives Cu2+ an unpaired electron; the reason worth reading is the dropped metal.
    assert "would drop a component containing Cu" in refusal("CC(=O)[O-].CC(=O)[O-].[Cu+2]")


@pytest.mark.parametrize(
    ("smiles", "where"),
    [
        ("*c1ccccc1", "atom 1 is *"),
        ("[*:1]CC", "atom 1 is [*:1]"),
        ("[1*]CC", "atom 1 is [1*]"),
        ("[R1]CC", "[R1] at character 1"),
        ("CC[R]", "[R] at character 3"),
        ("CC[R#]", "[R#] at character 3"),
    ],
)
def test_dummy_atoms_attachment_points_and_r_groups_are_refused(smiles, where):
    message = refusal(smiles)
    assert message.startswith("a dummy atom, attachment point or R-group, not a real atom: ") and where in message


def test_element_symbols_starting_with_r_are_not_r_groups():
    assert refusal("C[Rn]").startswith("invalid chemistry")  # radon's valence, not an R-group
    accepted("C[Ru]")  # a metal: judged by each model's element limits


@pytest.mark.parametrize(("smiles", "at"), [("CCO>>CC=O", 4), ("CC>O>CC", 3), ("C>>", 2)])
def test_reaction_smiles_are_refused(smiles, at):
    assert refusal(smiles) == f"a reaction SMILES, not a molecule: '>' at character {at}"


@pytest.mark.parametrize(
    ("smiles", "where"),
    [
        ("[C,N]CC", "[C,N] at character 1"),
        ("[#6]CC", "[#6] at character 1"),  # RDKit alone reads this as a carbon radical
        ("C[CX4]", "[CX4] at character 2"),
        ("C[C;R]C", "[C;R] at character 2"),
        ("C~C", "'~' at character 2"),  # RDKit alone accepts it as a query bond
        ("C@C", "'@' at character 2"),
        ("[$(CC)]C", "[$(CC)] at character 1"),
    ],
)
def test_smarts_query_features_are_refused(smiles, where):
    assert refusal(smiles) == f"a SMARTS query, not a molecule: {where}"


@pytest.mark.parametrize("smiles", ["[13CH4]", "[2H]C(Cl)Cl", "[2H]OC(=O)C", "C[13C](=O)O", "[18F]c1ccccc1"])
def test_isotopes_are_kept(smiles):
    molecule = accepted(smiles)
    assert molecule.warnings == ()
    assert any(ch.isdigit() for ch in molecule.canonical_smiles.split("]")[0])  # the label survives


def test_a_stripped_salt_names_what_was_removed():
    molecule = accepted("CC(=O)[O-].[Na+].[Na+].CC(=O)[O-]")
    assert molecule.canonical_smiles == "CC(=O)[O-]"
    assert molecule.warnings == ("kept the largest of 4 fragments (salts/solvents removed: CC(=O)[O-], 2 × [Na+])",)


def test_removing_a_fragment_as_large_as_the_kept_one_is_flagged():
    # ethylammonium acetate: which of the two is the ligand is the user's call, so the row says
    molecule = accepted("CC(=O)O.CCN")
    assert any("the removed CC(=O)O is as large as the kept molecule" in w for w in molecule.warnings)


def test_stereo_marks_rdkit_ignores_are_reported():
    (warning,) = accepted("C[C@H](C)O").warnings
    assert warning == "stereo marks ignored: atom 2 is [C@H] but not a stereocentre"
    (warning,) = accepted("C/C=C/C/C=C").warnings
    assert "the double bond between atoms 5 and 6 cannot be cis/trans" in warning
    assert accepted("C[C@@H](F)Cl").warnings == () and accepted("F/C=C/F").warnings == ()


@pytest.mark.parametrize("smiles", ["CC O", "CC\tO", "C\x00C", "C\x1fC", ""])
def test_the_text_is_read_whole_or_refused(smiles):
    refusal(smiles)


EXAMPLES = {
    "empty": "  ",
    "non_ascii": "Cα",
    "whitespace": "C C",
    "control": "C\x07",
    "syntax": "C1CC",
    "chemistry": "C(C)(C)(C)(C)C",
    "reaction": "C>>C",
    "query": "[C,N]",
    "attachment": "*C",
    "radical": "C[CH2]",
    "no_heavy_atoms": "[H][H]",
    "no_organic": "[Na+].[Cl-]",
    "non_salt_fragment": "[CH-]1C=CC=C1.[CH-]1C=CC=C1.[Fe+2]",
    "salt_stripped": "CC(=O)[O-].[Na+]",
    "large_fragment_removed": "CC(=O)O.CCN",
    "stereo_ignored": "C[C@H](C)C",
    "isotope": "[13CH4]",
}


@pytest.mark.parametrize("key", EXAMPLES)
def test_the_policy_table_is_what_happens(key):
    rule = LIGAND_POLICY[key]
    outcome = describe(EXAMPLES[key])
    opening = rule.message.split("{")[0]
    if rule.verdict is Verdict.REJECT:
        assert isinstance(outcome, str) and outcome.startswith(opening)
    else:
        assert isinstance(outcome, Molecule)
        said = [w for w in outcome.warnings if w.startswith(opening)]
        assert said if rule.verdict is Verdict.WARN else not outcome.warnings


def test_every_molecule_rule_has_an_example():
    model_limits = {"too_large", "elements", "training_range"}  # tested in test_submit_validation
    assert set(LIGAND_POLICY) - model_limits == set(EXAMPLES)


# -- every bad row, schema or chemistry, in one answer; or skipped

BAD_ROWS = [
    {"name": "empty", "smiles": ""},
    {"name": "too-long", "smiles": "C" * 5_001},
    {"name": "full-width", "smiles": "CC（C）O"},
    {"name": "salt-only", "smiles": "[Na+].[Cl-]"},
    {"name": "radical", "smiles": "C[CH2]"},
    {"name": "dummy", "smiles": "*c1ccccc1"},
    {"name": "reaction", "smiles": "CCO>>CC=O"},
    {"name": "unparsable", "smiles": "C1CC"},
    {"name": "typo", "smile": "CCO"},  # an unknown key and no smiles: two problems, one row
    "CCO",  # not an object
]


def mixed(**kw):
    good = [{"name": f"good-{i}", "smiles": s} for i, s in enumerate(["CCO", "c1ccccc1", "CC(=O)Nc1ccc(O)cc1"])]
    rows = [good[0], *BAD_ROWS[:5], good[1], *BAD_ROWS[5:], good[2]]
    return {"protein": {"sequence": SEQ}, "ligands": rows} | kw


GOOD_ROWS = [0, 6, 12]
BAD_INDEXES = [i for i in range(13) if i not in GOOD_ROWS]


def test_one_refusal_names_every_bad_row_whatever_layer_found_it():
    with pytest.raises(InputError) as info:
        validate(read_request(mixed()))
    details = info.value.details
    assert sorted({d["loc"][1] for d in details}) == BAD_INDEXES
    by_row = {d["loc"][1]: d for d in details}
    assert "at least 1 character" in by_row[1]["msg"] and "at most 5000" in by_row[2]["msg"]
    assert by_row[3]["msg"].startswith("SMILES is ASCII only")
    assert [d["loc"] for d in details if d["loc"][1] == 10] == [["ligands", 10, "smiles"], ["ligands", 10, "smile"]]


def test_skip_runs_the_good_rows_and_lists_every_bad_one():
    checked = validate(read_request(mixed(on_invalid="skip")))
    assert [lig.row for lig in checked.ligands] == GOOD_ROWS
    assert sorted({d["loc"][1] for d in checked.rejected}) == BAD_INDEXES
    assert checked.rejected_count == len(BAD_INDEXES)  # rows, though row 10 has two problems


def test_a_request_level_problem_still_names_every_bad_row():
    # too short a protein for the model: refused whatever on_invalid says, with the rows' problems
    with pytest.raises(InputError) as info:
        validate(read_request(mixed(on_invalid="skip", protein={"sequence": "ACD"})))
    locs = [d["loc"] for d in info.value.details]
    assert locs[0] == ["protein", "sequence"] and sorted({loc[1] for loc in locs[1:]}) == BAD_INDEXES
    # unreadable (a bad residue): the schema's refusal names the chemistry's bad rows too
    with pytest.raises(InputError) as info:
        read_request(mixed(protein={"sequence": "ACD*"}))
    locs = [d["loc"] for d in info.value.details]
    assert locs[0] == ["protein", "sequence"] and sorted({loc[1] for loc in locs[1:]}) == BAD_INDEXES


def test_a_bad_model_parameter_and_bad_rows_in_one_answer():
    with pytest.raises(InputError) as info:
        validate(read_request(mixed(params={"seed": -1})))
    locs = [d["loc"] for d in info.value.details]
    assert locs[0] == ["params", "seed"] and sorted({loc[1] for loc in locs[1:]}) == BAD_INDEXES


def test_the_request_is_strict_without_the_skippable_rows_context():
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        BatchRequest.model_validate(mixed())


def test_different_bad_rows_are_different_requests():
    # the stand-ins of {"smiles": 5} and {"smiles": 6} look alike; their problems do not
    one, other = (read_request(mixed(ligands=[{"smiles": "CCO"}, {"smiles": n}])) for n in (5, 6))
    assert one.model_dump() == other.model_dump() and fingerprint(one) != fingerprint(other)


def test_stand_ins_are_not_parsed_and_keep_the_numbering():
    ligands = read_request(mixed(on_invalid="skip")).ligands
    assert [bool(lig.problems) for lig in ligands].count(True) == 4  # empty, too long, typo, not an object
    valid, errors = validate_ligands([LigandIn(smiles="CCO"), *ligands[1:3], LigandIn(smiles="CCN")])
    assert [v.row for v in valid] == [0, 3] and [e["loc"][1] for e in errors] == [1, 2]


def test_csv_drops_share_the_policy_and_skip_schema_bad_rows():
    from omtx.drops import parse

    text = (
        f"# protein: {SEQ}\n# on_invalid: skip\nname,smiles\n"
        "ok,CCO\nnbsp,CCO\u00a0\nlong," + "C" * 5_001 + "\nsalt,[Na+].[Cl-]\nempty,\nfine,CCN\n"
    )
    parsed = parse(text.encode())
    checked = validate(parsed.request)
    assert [lig.row for lig in checked.ligands] == [0, 5]
    by_row = {d["loc"][1]: d["msg"] for d in checked.rejected}
    assert sorted(by_row) == [1, 2, 3, 4] and [parsed.lines[row] for row in sorted(by_row)] == [5, 6, 7, 8]
    assert by_row[1] == "SMILES is ASCII only: character 4 is U+00A0 NO-BREAK SPACE"
    assert "at most 5000" in by_row[2] and by_row[3].startswith("no organic component") and by_row[4] == "empty SMILES"
