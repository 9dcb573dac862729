"""What reading one office document may cost, and the checks of a DOCX or XLSX zip archive made before
any library opens it."""

from __future__ import annotations

import io
import re
import time
import zipfile
from dataclasses import dataclass

from comptoir.errors import ComptoirError, InvalidInput, PayloadTooLarge


@dataclass(frozen=True)
class OfficeLimits:
    """What one office document may cost to read."""

    max_zip_entries: int = 2_000
    max_uncompressed_bytes: int = 100 * 1024 * 1024  # all entries of a DOCX/XLSX together, as declared
    max_compression_ratio: float = 100.0  # per entry; zip bombs inflate 1000x and more
    ratio_exempt_bytes: int = 1024 * 1024  # entries up to this size may compress better (harmless)
    max_pdf_pages: int = 500
    max_cells: int = 20_000_000  # table cells, empty ones included: all sheets, or all DOCX tables
    max_seconds: float = 30.0  # per document, checked between pages, rows and paragraphs


class _Clock:
    def __init__(self, name: str, seconds: float) -> None:
        self.name = name
        self.seconds = seconds
        self.deadline = time.monotonic() + seconds

    def check(self) -> None:
        if time.monotonic() > self.deadline:
            raise PayloadTooLarge(
                f"{self.name}: reading the document took longer than {self.seconds:g} s; split it into "
                "smaller files"
            )


class _CellBudget:
    """Table cells read, empty ones included. openpyxl pads each row with empty cells up to its last
    one, and python-docx repeats a merged cell once per column it spans: a tiny file with a cell in
    column XFD on every row, or a cell spanning a million columns, costs that much on each row."""

    def __init__(self, name: str, cells: int) -> None:
        self.name = name
        self.limit = self.left = cells

    def spend(self, cells: int) -> None:
        self.left -= cells
        if self.left < 0:
            raise PayloadTooLarge(
                f"{self.name}: the tables have more than {self.limit} cells (rows x columns, empty ones "
                "included); remove unused rows and columns or split the file"
            )


# ---------------------------------------------------------------------------------------------- zip

_DTD = re.compile(rb"<!(?:DOCTYPE|ENTITY)")
_XML_PART = (".xml", ".rels", ".vml")


def _check_zip(name: str, kind: str, data: bytes, limits: OfficeLimits, clock: _Clock) -> None:
    """Refuse an archive that would cost too much to open, before any library opens it."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except Exception as exc:
        raise InvalidInput(f"{name}: not a valid {kind} file (not a zip archive: corrupt?)") from exc
    with archive:
        infos = archive.infolist()
        if len(infos) > limits.max_zip_entries:
            raise PayloadTooLarge(
                f"{name}: the {kind} archive has {len(infos)} entries, more than the "
                f"{limits.max_zip_entries} allowed"
            )
        total = 0
        for info in infos:
            size = info.file_size
            if size > limits.ratio_exempt_bytes and size > limits.max_compression_ratio * max(
                info.compress_size, 1
            ):
                ratio = size // max(info.compress_size, 1)
                raise InvalidInput(
                    f"{name}: entry {info.filename[:100]!r} of the {kind} archive inflates {ratio}x "
                    f"(limit {limits.max_compression_ratio:g}x): refused as a zip bomb"
                )
            total += size
            if total > limits.max_uncompressed_bytes:
                raise PayloadTooLarge(
                    f"{name}: the {kind} archive expands to more than {limits.max_uncompressed_bytes} bytes"
                )
        for info in infos:
            if info.filename.lower().endswith(_XML_PART):
                _scan_xml(name, kind, archive, info, clock)


def _scan_xml(name: str, kind: str, archive: zipfile.ZipFile, info: zipfile.ZipInfo, clock: _Clock) -> None:
    tail = b""
    try:
        with archive.open(info) as stream:
            while chunk := stream.read(1 << 20):
                clock.check()
                if _DTD.search(tail + chunk):
                    raise InvalidInput(
                        f"{name}: part {info.filename[:100]!r} declares a DTD, which {kind} files never do: "
                        "refused"
                    )
                tail = chunk[-16:]
    except ComptoirError:
        raise
    except Exception as exc:  # CRC mismatch, truncated data, unsupported compression, encrypted entry
        raise InvalidInput(f"{name}: the {kind} archive is corrupt ({type(exc).__name__}: {exc})") from exc
