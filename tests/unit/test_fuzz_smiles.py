"""Hypothesis on SMILES validation: any text gets a clean answer (a molecule, or a per-row error),
canonical SMILES are a fixed point, and valid molecules survive being written another way."""

import string

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from rdkit import Chem

from omtx.chemistry.ligands import validate_ligands
from omtx.chemistry.smiles import Molecule, describe
from omtx.domain import LigandIn

# Random SMILES-like text is mostly invalid: the fixed-point test discards many draws on purpose.
FUZZ = settings(
    max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]
)

# What SMILES are made of, so random text often gets deep into the parser and sanitizer.
SMILES_ALPHABET = "CNOSPFIBrcnospl()[]=#-+@/\\.%0123456789:*HZnaeKi "
smiles_like = st.text(alphabet=SMILES_ALPHABET, min_size=1, max_size=60)
any_text = st.text(min_size=1, max_size=200)

ATOMS = ["C", "N", "O", "S", "F", "Cl", "Br", "[C@@H]", "[C@H]", "[NH3+]", "[O-]", "c1ccccc1", "c1ccncc1", "C1CC1"]
BONDS = ["", "", "=", "#"]


@st.composite
def molecules(draw: st.DrawFn) -> str:
    """Chains of atoms and rings with bonds and branches: mostly valid, sometimes not."""
    parts = [draw(st.sampled_from(ATOMS))]
    for _ in range(draw(st.integers(0, 8))):
        bond, atom = draw(st.sampled_from(BONDS)), draw(st.sampled_from(ATOMS))
        parts.append(f"({bond}{atom})" if draw(st.booleans()) else f"{bond}{atom}")
    if draw(st.booleans()):
        parts.append(draw(st.sampled_from([".[Na+]", ".Cl", ".O", ".[K+]"])))
    return "".join(parts)


@FUZZ
@given(st.one_of(any_text, smiles_like, molecules()))
def test_any_text_gets_a_molecule_or_a_reason(text):
    outcome = describe(text)
    assert isinstance(outcome, Molecule | str)
    if isinstance(outcome, str):
        assert outcome.strip()


@FUZZ
@given(st.lists(st.tuples(st.none() | st.text(max_size=20), st.one_of(smiles_like, molecules())), max_size=12))
def test_every_row_is_either_valid_or_has_one_located_error(rows):
    ligands = [LigandIn(name=name, smiles=smiles) for name, smiles in rows]
    valid, errors = validate_ligands(ligands)
    rows_with_errors = [e["loc"][1] for e in errors]
    assert sorted(rows_with_errors + [v.row for v in valid]) == list(range(len(rows)))
    for error in errors:
        assert error["loc"][0] == "ligands" and error["loc"][2] in ("smiles", "name")
        assert isinstance(error["msg"], str) and error["msg"]
    assert [v.index for v in valid] == list(range(len(valid)))


@FUZZ
@given(st.one_of(molecules(), smiles_like))
def test_canonical_smiles_are_a_fixed_point_and_survive_other_spellings(text):
    first = describe(text)
    assume(isinstance(first, Molecule))
    again = describe(first.canonical_smiles)
    assert isinstance(again, Molecule)
    assert again.canonical_smiles == first.canonical_smiles
    assert again.heavy_atoms == first.heavy_atoms and again.elements == first.elements
    # The same molecule written from another starting atom is the same molecule.
    for spelled in Chem.MolToRandomSmilesVect(Chem.MolFromSmiles(first.canonical_smiles), 3, randomSeed=7):
        other = describe(spelled)
        assert isinstance(other, Molecule), (spelled, other)
        assert other.canonical_smiles == first.canonical_smiles, spelled


@FUZZ
@given(molecules(), st.characters(categories=["Cc"]).filter(lambda c: not c.isspace()), st.sampled_from(["", "C", "x"]))
def test_a_control_character_is_refused_not_cut_off(text, control, tail):
    outcome = describe(text + control + tail)
    assert isinstance(outcome, str), f"{text + control + tail!r} accepted as {outcome}"


@FUZZ
@given(st.text(alphabet=string.whitespace, min_size=1, max_size=3), molecules())
def test_surrounding_whitespace_is_ignored_and_inner_whitespace_refused(space, text):
    plain = describe(text)
    assert describe(space + text + space) == plain
    if len(text) > 1:
        assert describe(text[:1] + space + text[1:]) == "SMILES contains whitespace"
