"""Submit a library file: the same submission as a JSON batch, with every row's problem and
warning pointed at its file line (and SDF record), and what was guessed about the file (its
encoding, a name item missing) among the warnings. Drops, API uploads and the CLI come here."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import IO, Any

from pydantic import ValidationError

from omtx.domain import BatchRequest
from omtx.drops import DropError, LibraryRequest, ParsedDrop, parse
from omtx.errors import InputError
from omtx.libraries import Library, LibraryError
from omtx.libraries.encoding import decode
from omtx.settings import get_settings
from omtx.usecases.submit import SubmitOutcome, submit_batch


def read_library_request(data: bytes, name: str, loc: str = "request") -> LibraryRequest:
    """A request given beside a library (`<stem>.request.json`, the API's `request` part), or
    DropError naming `name` and each problem."""
    try:
        body = json.loads(decode(data).text)
    except (LibraryError, json.JSONDecodeError, RecursionError) as exc:
        raise DropError(f"{name} is not valid JSON: {exc}", [{"loc": [loc], "msg": str(exc), "input": None}]) from None
    try:
        return LibraryRequest.model_validate(body)
    except ValidationError as exc:
        details = [{"loc": [loc, *e["loc"]], "msg": e["msg"], "input": e.get("input")} for e in exc.errors()]
        problems = "; ".join(f"{'.'.join(map(str, d['loc'][1:])) or 'the body'}: {d['msg']}" for d in details)
        raise DropError(f"{name}: {problems}", details) from None


def read_upload(data: IO[bytes] | Iterable[bytes] | bytes, filename: str, request_part: bytes | None) -> ParsedDrop:
    """An upload to the API: a file that cannot be a batch is InputError (422), like a bad body."""
    try:
        request = read_library_request(request_part, "the 'request' part") if request_part is not None else None
        return parse(data, filename, request, "the 'request' part", max_rows=get_settings().max_ligands)
    except DropError as exc:
        raise InputError("the library cannot become a batch", exc.details) from None


def submit_library(request: BatchRequest, tenant: str, *, library: Library, **kwargs: Any) -> SubmitOutcome:
    """submit_batch (same keywords) of a request read from `library`."""
    try:
        outcome = submit_batch(request, tenant, **kwargs)
    except InputError as exc:
        exc.details = library.locate(exc.details)
        raise
    notes = [{"loc": ["library"], "msg": warning, "input": None} for warning in library.warnings]
    return outcome.model_copy(
        update={
            "warnings": notes + library.locate(outcome.warnings),
            "rejected_rows": library.locate(outcome.rejected_rows),
        }
    )
