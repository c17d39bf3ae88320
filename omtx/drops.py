"""A library file becomes a batch request: its rows (omtx.libraries), and the protein, model and
parameters from the file's own `# key: value` lines (CSV, SMILES) and from a request given
beside it (a LibraryRequest: a drop's `<stem>.request.json`, the API's `request` part).

    # protein: MENFQKVEKIGEGTYGVVYKARNKLTGEVVALKKIRL...
    # protein_id: CDK2_HUMAN          (optional)
    # model: rdkit_props              (optional)
    # params: {"seed": 7}             (optional, JSON)
    # name: my screen                 (optional)
    # on_invalid: skip                (optional; default reject)
    name,smiles
    aspirin,CC(=O)Oc1ccccc1C(=O)O

A key may come from the file or from the request, not both: two answers to one question are an
error, never a silent choice. Pure: no I/O."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from omtx.chemistry.policy import LIGAND_POLICY
from omtx.domain import SKIPPABLE_ROWS, BatchRequest, LigandIn, ProteinIn
from omtx.libraries import Library, LibraryError, Row, parse_library, stem_of

REQUEST_SUFFIX = ".request.json"
RESULT_SUFFIX = ".result.json"
FILE_KEYS = ("model", "name", "on_invalid", "params", "labels")


class LibraryRequest(BaseModel):
    """Everything a batch request names except its ligands, which a library file brings."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, max_length=200)
    model: str | None = Field(None, description="default rdkit_props")
    params: dict[str, Any] | None = None
    protein: ProteinIn | None = Field(None, description="or the file's '# protein:' line or protein column")
    labels: dict[str, str] | None = None
    cache: bool | None = None
    on_invalid: Literal["reject", "skip"] | None = None
    webhook_url: str | None = Field(None, max_length=2048)
    name_field: str | None = Field(
        None,
        min_length=1,
        max_length=200,
        description="where each ligand's name is: an SD file's data item (default: the title line), "
        "a CSV column (default: name, ID, ...), a SMILES file's column under its title line",
    )


class DropError(ValueError):
    """The file cannot become a batch; the message says why, for the result file. `details`
    are the same problems as {loc, msg, input}, for the API."""

    def __init__(self, message: str, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.details = details or [{"loc": ["library"], "msg": message, "input": None}]


class MissingRequest(DropError):
    """The file names no protein and no request came with it: a drop waits for its request."""


@dataclass(frozen=True)
class ParsedDrop:
    request: BatchRequest
    library: Library

    @property
    def lines(self) -> list[int]:
        """The file line (1-based) of each ligand row, for error messages."""
        return [row.line for row in self.library.rows]


def parse(
    data: bytes | IO[bytes] | Iterable[bytes],
    filename: str = "drop.csv",
    request: LibraryRequest | None = None,
    request_name: str = "the request",
    max_rows: int | None = None,
) -> ParsedDrop:
    """The batch a library file describes (with `request`, the request beside it), or DropError
    saying why the file cannot be one."""
    try:
        library = parse_library(data, filename, name_field=request.name_field if request else None, max_rows=max_rows)
    except LibraryError as exc:
        raise DropError(str(exc)) from None
    return assemble(library, request, request_name, default_name=stem_of(filename.rsplit("/", 1)[-1]))


def assemble(
    library: Library, request: LibraryRequest | None, request_name: str = "the request", default_name: str = ""
) -> ParsedDrop:
    """The batch request of a library and its request; a batch neither names is named
    `default_name` (the file's, without its extension), so a chemist finds it in the list."""
    from_file = _file_values(library)
    from_request = request.model_dump(exclude_unset=True, exclude_none=True, exclude={"name_field"}) if request else {}
    if twice := sorted(from_file.keys() & from_request.keys()):
        places = ", ".join(f"{key!r} ({_file_place(library, key)} and {request_name})" for key in twice)
        raise DropError(f"given twice, in the file and in its request: {places}; give each once")
    values = from_file | from_request
    if default_name.strip() and "name" not in values:
        values["name"] = default_name.strip()[:200]
    if "protein" not in values:
        where = "a '# protein: <sequence>' line above the header, or a 'protein' column"
        if request is None:
            raise MissingRequest(f"no protein: the file names none ({where}) and no request came with it")
        raise DropError(f"no protein: neither {request_name} nor the file names one ({where})")
    values["ligands"] = [_ligand(index, row) for index, row in enumerate(library.rows)]
    try:
        # As in the API: a bad row is the row's problem (skippable, named with its line), not the file's
        return ParsedDrop(BatchRequest.model_validate(values, context={SKIPPABLE_ROWS: True}), library)
    except ValidationError as exc:
        errors = exc.errors()[:20]
        messages = [f"{_place(e['loc'], library, request_name)}: {e['msg']}" for e in errors]
        details = [{"loc": list(e["loc"]), "msg": m, "input": None} for e, m in zip(errors, messages, strict=True)]
        raise DropError("; ".join(messages), details) from None


def _file_values(library: Library) -> dict[str, Any]:
    header = library.header
    if len(library.proteins) > 1:
        raise DropError(
            f"the protein column holds {len(library.proteins)} different sequences; one file is one protein"
        )
    values: dict[str, Any] = {}
    if sequence := header.values.get("protein") or next(iter(library.proteins), None):
        protein_id = header.values.get("protein_id")
        values["protein"] = {"sequence": sequence} | ({"id": protein_id} if protein_id else {})
    for key in FILE_KEYS:
        if not header.values.get(key):
            continue
        if key in ("params", "labels"):
            try:
                values[key] = json.loads(header.values[key])
            except (json.JSONDecodeError, RecursionError) as exc:  # RecursionError: [[[[… nested too deep
                raise DropError(f"{header.where(key)} is not valid JSON: {exc}") from None
        else:
            values[key] = header.values[key]
    return values


def _ligand(index: int, row: Row) -> LigandIn | dict[str, Any]:
    problem = row.problem
    if problem is None and not (row.smiles or "").strip():
        # An empty cell is the ligand policy's finding (the schema would only count characters),
        # echoed as the cell was
        problem = LIGAND_POLICY["empty"].message
    if problem is None:
        return {"name": row.name, "smiles": row.smiles}
    error = {"loc": (index, "smiles"), "msg": problem, "input": row.smiles}
    return LigandIn.unreadable(index, {"name": row.name, "smiles": row.smiles}, [error])


def _file_place(library: Library, key: str) -> str:
    if key in library.header.lines:
        return library.header.where(key)
    if key == "protein" and library.protein_column is not None:
        return f"line {next(iter(library.proteins.values()))}, column {library.protein_column!r}"
    return "the file"


def _place(loc: tuple[int | str, ...], library: Library, request_name: str) -> str:
    """Where the value at `loc` (a pydantic error location) came from."""
    if len(loc) >= 2 and loc[0] == "ligands" and isinstance(loc[1], int) and loc[1] < len(library.rows):
        return library.where(loc[1], str(loc[2]) if len(loc) > 2 else "smiles")
    key = "protein_id" if loc[:2] == ("protein", "id") else str(loc[0]) if loc else ""
    if key == "protein_id" and key not in library.header.lines:
        key = "protein"
    if key in library.header.lines or (key == "protein" and library.protein_column is not None):
        return _file_place(library, key)
    return f"{request_name}: {'.'.join(map(str, loc))}"


def result_name(object_name: str) -> str:
    """The whole file name, so screen.smi and screen.sdf answer in files of their own."""
    return object_name + RESULT_SUFFIX


def request_name(object_name: str) -> str:
    """The request a library drop reads: screen.request.json for screen.csv, .smi or .sdf."""
    return stem_of(object_name) + REQUEST_SUFFIX
