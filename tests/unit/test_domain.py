import pytest
from pydantic import ValidationError

from omtx.domain import BatchRequest, ProteinIn


def test_fasta_header_whitespace_and_case_are_normalised():
    protein = ProteinIn(sequence=">sp|P24941|CDK2_HUMAN\nmenfq kvekig\n  EGTYG\n")
    assert protein.sequence == "MENFQKVEKIGEGTYG"


def test_extended_residue_codes_are_accepted():
    assert ProteinIn(sequence="ACDXUO").sequence == "ACDXUO"


def test_invalid_residues_are_named_with_positions():
    with pytest.raises(ValidationError) as info:
        ProteinIn(sequence="ACD1EF*")
    message = info.value.errors()[0]["msg"]
    assert "'1' at 4" in message and "'*' at 7" in message and "2 invalid" in message


def test_unknown_fields_are_rejected():
    with pytest.raises(ValidationError) as info:
        BatchRequest.model_validate(
            {"protein": {"sequence": "ACDEFGHIKL"}, "ligands": [{"smiles": "CCO"}], "modle": "x"}
        )
    assert info.value.errors()[0]["loc"] == ("modle",)


def test_a_batch_needs_ligands():
    with pytest.raises(ValidationError) as info:
        BatchRequest.model_validate({"protein": {"sequence": "ACDEFGHIKL"}, "ligands": []})
    assert info.value.errors()[0]["loc"] == ("ligands",)
