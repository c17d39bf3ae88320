"""Every structure file of a batch as one zip, streamed as it is written: no temporary file and
no whole archive in memory, so a 100,000-job batch downloads in constant memory.

Each job's files go in a folder named after its index and ligand (`000012_aspirin/complex.cif`);
the name is reduced to safe characters, so a ligand named `../../x` cannot climb out of it."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator

from omtx.gcp import storage
from omtx.gcp.firestore import jobs as job_store

# Result metrics are in the batch exports; these are the per-job structure and pose files.
SKIPPED = frozenset({"results.json", "logs.txt"})
UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class _Sink:
    """A write-only, unseekable file: zipfile then writes data descriptors and never seeks back."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []

    def write(self, data: bytes) -> int:
        self.chunks.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass

    def take(self) -> bytes:
        data, self.chunks = b"".join(self.chunks), []
        return data


def folder_name(index: int, ligand_name: str) -> str:
    safe = UNSAFE.sub("_", ligand_name).strip("._")[:60]
    return f"{index:06d}_{safe}" if safe else f"{index:06d}"


def stream(batch_id: str) -> Iterator[bytes]:
    sink = _Sink()
    with zipfile.ZipFile(sink, mode="w", compression=zipfile.ZIP_DEFLATED) as archive:
        for job in job_store.iter_jobs(batch_id):
            for name, uri in sorted(job.files.items()):
                if name in SKIPPED:
                    continue
                try:
                    chunks, _, _ = storage.open_reader(uri)
                except FileNotFoundError:
                    continue  # expired by retention: the zip holds what is still stored
                with archive.open(f"{folder_name(job.index, job.ligand_name)}/{name}", "w") as member:
                    for chunk in chunks:
                        member.write(chunk)
                        yield sink.take()
    yield sink.take()
