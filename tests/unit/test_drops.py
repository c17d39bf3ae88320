import codecs
import json

import pytest

from omtx.drops import DropError, parse, result_name

SEQ = "MENFQKVEKIGEGTYGVVYKARNKLTG"


def test_header_lines_and_column_variants():
    data = (
        f'# protein: {SEQ}\n# protein_id: CDK2\n# model: instant\n# params: {{"fail_every": 0}}\n'
        "# name: screen 1\n# on_invalid: skip\n"
        "Compound_ID,Canonical_SMILES,activity\nZINC1,CCO,1.2\n\nZINC2,c1ccccc1,3\n"
    ).encode()
    parsed = parse(data)
    req = parsed.request
    assert req.protein.sequence == SEQ and req.protein.id == "CDK2"
    assert (req.model, req.name, req.on_invalid, req.params) == ("instant", "screen 1", "skip", {"fail_every": 0})
    assert [(lig.name, lig.smiles) for lig in req.ligands] == [("ZINC1", "CCO"), ("ZINC2", "c1ccccc1")]
    assert parsed.lines == [8, 10]  # file lines, blank line skipped


@pytest.mark.parametrize(
    "encode",
    [
        lambda t: t.encode("utf-8"),
        lambda t: codecs.BOM_UTF8 + t.encode("utf-8"),
        lambda t: t.replace("\n", "\r\n").encode("utf-8"),
        lambda t: t.encode("utf-16"),
    ],
    ids=["utf8", "bom", "crlf", "utf16"],
)
def test_encodings_and_line_endings(encode):
    parsed = parse(encode(f"smiles;name;protein\nCCO;ethanol;{SEQ}\nCCN;ethylamine;{SEQ}\n"))
    assert [lig.name for lig in parsed.request.ligands] == ["ethanol", "ethylamine"]
    assert parsed.request.protein.sequence == SEQ


def test_tab_separated_without_names():
    parsed = parse(f"# protein: {SEQ}\nSMILES\tscore\nCCO\t1\n".encode())
    assert parsed.request.ligands[0].name is None and parsed.request.ligands[0].smiles == "CCO"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"  \n\n", "empty"),
        (b"# protein: X\nname,smiles\n", "no ligand rows"),
        (b"name,smiles\nx,CCO\n", "no protein"),
        (f"# protein: {SEQ}\nname,formula\nx,C2H6O\n".encode(), "no SMILES column"),
        (f"# protein: {SEQ}\n# params: {{seed\nsmiles\nCCO\n".encode(), "not valid JSON"),
        (f"smiles,sequence\nCCO,{SEQ}\nCCN,{SEQ}AAA\n".encode(), "2 different sequences"),
        ("# protein: ACDEFGHIK\nsmiles\nCCO\n".encode("latin-1") + b"\x81\n", "neither UTF-8 nor Windows-1252"),
        (f"# protein: {SEQ}\n# model: x\n# on_invalid: maybe\nsmiles\nCCO\n".encode(), "on_invalid"),
    ],
)
def test_files_that_cannot_be_batches_say_why(data, message):
    with pytest.raises(DropError, match=message):
        parse(data)


def test_result_file_sits_beside_the_drop_named_after_the_whole_file():
    assert result_name("drops/screen.csv") == "drops/screen.csv.result.json"
    assert result_name("drops/lib.smi") != result_name("drops/lib.sdf")
    assert result_name("drops/team.a/screen") == "drops/team.a/screen.result.json"


def test_the_most_specific_column_wins_and_only_real_line_breaks_split_rows():
    parsed = parse(f"# protein: {SEQ}\nID,Molecule,SMILES\nfoo\u2028bar,Ethanol,CCO\n".encode())
    (ligand,) = parsed.request.ligands
    assert (ligand.name, ligand.smiles) == ("foo\u2028bar", "CCO")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\xff\xfe" + "smiles\nCCO\n".encode("utf-16-le") + b"\x00", "not valid UTF-16"),
        (f'# protein: {SEQ}\nsmiles,name\nCCO,"unclosed\n'.encode() + b"x" * 200_000, "not a readable CSV"),
    ],
)
def test_malformed_files_are_drop_errors_not_crashes(data, message):
    with pytest.raises(DropError, match=message):
        parse(data)


def test_the_drop_folder_names_the_tenant():
    from omtx.drops import DropError
    from omtx.usecases.drops import drop_tenant

    assert drop_tenant("drops/screen.csv") == "default"
    assert drop_tenant("drops/acme-labs/q3/screen.csv") == "acme-labs"
    with pytest.raises(DropError, match="names the tenant"):
        drop_tenant("drops/Not_A_Tenant/screen.csv")


@pytest.mark.parametrize(
    "name", ["drops/../structures/x.csv", "drops/acme/../globex/x.csv", "drops/./x.csv", "drops//x.csv"]
)
def test_a_drop_name_with_dot_or_empty_segments_is_never_ingested(name, monkeypatch):
    from omtx.usecases.drops import Notification, ingest

    def no_storage(*args, **kwargs):
        raise AssertionError("nothing is read or written for such a name")

    monkeypatch.setattr("omtx.gcp.storage.put_json", no_storage)
    event = Notification(bucket="omtx-inputs", object_id=name, generation="1", event_type="OBJECT_FINALIZE")
    assert ingest(event) == "ignored"


# --- a library with its request beside it ------------------------------------------------------


def _request(**fields):
    from omtx.drops import LibraryRequest

    return LibraryRequest.model_validate(fields)


def test_a_smiles_file_takes_protein_model_and_params_from_its_request():
    request = _request(protein={"sequence": SEQ, "id": "CDK2"}, model="instant", params={"fail_every": 0}, name="s")
    parsed = parse(b"CCO ethanol\nCCN\n", "screen.smi", request, "screen.request.json")
    req = parsed.request
    assert (req.protein.id, req.model, req.params, req.name) == ("CDK2", "instant", {"fail_every": 0}, "s")
    assert [(lig.name, lig.smiles) for lig in req.ligands] == [("ethanol", "CCO"), (None, "CCN")]
    assert parsed.lines == [1, 2] and parsed.library.format == "smi"


def test_without_protein_or_request_the_drop_waits_and_with_a_request_it_is_an_error():
    from omtx.drops import MissingRequest

    with pytest.raises(MissingRequest, match="no request came with it"):
        parse(b"CCO\n", "screen.smi")
    with pytest.raises(DropError, match="neither screen.request.json nor the file names one") as caught:
        parse(b"CCO\n", "screen.smi", _request(model="instant"), "screen.request.json")
    assert not isinstance(caught.value, MissingRequest)


def test_a_key_in_the_file_and_in_the_request_is_an_error_not_a_choice():
    data = f"# protein: {SEQ}\n# model: instant\nsmiles\nCCO\n".encode()
    with pytest.raises(DropError, match=r"'model' \('# model:' \(line 2\) and screen.request.json\)"):
        parse(data, "screen.csv", _request(model="rdkit_props"), "screen.request.json")
    with pytest.raises(DropError, match=r"'protein'"):
        parse(data, "screen.csv", _request(protein={"sequence": SEQ}), "screen.request.json")
    assert parse(data, "screen.csv", _request(on_invalid="skip")).request.on_invalid == "skip"


def test_a_bad_value_in_the_request_is_named_with_the_request_file():
    with pytest.raises(DropError, match=r"screen.request.json: on_invalid: Input should be 'reject' or 'skip'"):
        parse(
            b"CCO\n",
            "screen.smi",
            _request(protein={"sequence": SEQ}).model_copy(update={"on_invalid": "x"}),
            "screen.request.json",
        )


def test_unreadable_rows_of_a_file_are_skippable_rows_carrying_their_problem():
    parsed = parse(b"CCO ok\nC[C@H](O)CC |&1:1| racemic\n", "s.smi", _request(protein={"sequence": SEQ}))
    ok, bad = parsed.request.ligands
    assert not ok.problems and bad.problems[0]["loc"] == ["ligands", 1, "smiles"]
    assert "CXSMILES" in bad.problems[0]["msg"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{", "screen.request.json is not valid JSON"),
        (b"[]", "screen.request.json: the body: Input should be a valid dictionary"),
        (b'{"protein": {"sequence": "MEN"}, "ligands": []}', "ligands: Extra inputs are not permitted"),
        (b'{"protein": {"sequence": "M3N"}}', "protein.sequence: Value error, not a protein sequence"),
        (b'{"name_field": ""}', "name_field: String should have at least 1 character"),
    ],
)
def test_a_request_file_that_cannot_be_read_says_why(body, message):
    from omtx.usecases.libraries import read_library_request

    with pytest.raises(DropError, match=message):
        read_library_request(body, "screen.request.json")


def test_a_request_file_saved_by_notepad_in_utf16_is_read():
    from omtx.usecases.libraries import read_library_request

    body = json.dumps({"protein": {"sequence": SEQ}, "name": "Straße"}, ensure_ascii=False)
    assert read_library_request(body.encode("utf-16"), "r.json").name == "Straße"


def test_the_request_of_a_library_is_named_after_its_stem():
    from omtx.drops import request_name

    assert request_name("drops/acme/screen.smi") == request_name("drops/acme/screen.sdf")
    assert request_name("drops/acme/screen.sdf") == "drops/acme/screen.request.json"
    assert request_name("drops/screen.v2.csv") == "drops/screen.v2.request.json"


def test_a_batch_neither_file_nor_request_names_is_named_after_the_file():
    request = _request(protein={"sequence": SEQ})
    assert parse(b"CCO\n", "drops/acme/kinase screen.v2.smi", request).request.name == "kinase screen.v2"
    assert parse(b"CCO\n", "screen.smi", _request(protein={"sequence": SEQ}, name="Mine")).request.name == "Mine"
    assert (
        parse(f"# name: From the file\n# protein: {SEQ}\nsmiles\nCCO\n".encode(), "x.csv").request.name
        == "From the file"
    )
