"""What kind of file an upload is, decided by its content (magic bytes), never its name.

Pure: `sniff(head, tail, size)` looks at the first `HEAD_BYTES` and the last `TAIL_BYTES` of a
file. Deliberately strict, because referring hospitals' PCs get infected and a file that only
*starts* like a PDF is not a PDF:

- PDF: `%PDF-1.x`/`%PDF-2.x` header and an `%%EOF` marker near the end (truncated or padded
  executables fail).
- PNG: the 8-byte signature followed by the IHDR chunk.
- JPEG: SOI marker `FF D8 FF` and EOI `FF D9` at the end.
- DICOM (Part 10): a 128-byte preamble, `DICM`, then at least one file-meta element (group
  0002); a file that stops right after `DICM` is truncated.
"""

from __future__ import annotations

import re

from casebook.models import AttachmentKind

HEAD_BYTES = 160
TAIL_BYTES = 1024
_DICOM_PREAMBLE = 128
_DICOM_META_ELEMENT = 12  # (0002,0000) UL: tag 4 + VR 2 + length 2 + value 4
_PDF_HEADER = re.compile(rb"%PDF-[12]\.[0-9]")

MEDIA_TYPES: dict[AttachmentKind, str] = {
    AttachmentKind.PDF: "application/pdf",
    AttachmentKind.PNG: "image/png",
    AttachmentKind.JPEG: "image/jpeg",
    AttachmentKind.DICOM: "application/dicom",
}


def sniff(head: bytes, tail: bytes, size: int) -> AttachmentKind | None:
    """The kind of a file whose first bytes are `head` and last bytes `tail`, or None."""
    if _PDF_HEADER.match(head) and b"%%EOF" in tail:
        return AttachmentKind.PDF
    if head.startswith(b"\x89PNG\r\n\x1a\n") and head[12:16] == b"IHDR":
        return AttachmentKind.PNG
    if head.startswith(b"\xff\xd8\xff") and tail.rstrip(b"\x00\r\n").endswith(b"\xff\xd9"):
        return AttachmentKind.JPEG
    start = _DICOM_PREAMBLE + 4
    if (
        size >= start + _DICOM_META_ELEMENT
        and head[_DICOM_PREAMBLE:start] == b"DICM"
        and head[start : start + 2] == b"\x02\x00"
    ):
        return AttachmentKind.DICOM
    return None
