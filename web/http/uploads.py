"""Reading an uploaded file from a multipart request, for the API and the pages alike.

The file is streamed in chunks from the body when the request carries its CSRF token in the
header; a plain form post carries the token in a field, so the CSRF check has read the form
already and the file is read from the parsed form instead.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError

from casebook.storage import FileStore, FileTooLarge
from web.http.csrf import CSRF_HEADER
from web.http.errors import WebError

CHUNK_BYTES = 64 * 1024
# What a multipart body may hold besides the file itself (boundaries, headers, other fields).
MULTIPART_OVERHEAD = 64 * 1024


class MissingUpload(WebError):
    """The request carries no file where one was expected (400 `invalid_request`)."""

    def __init__(self, message: str) -> None:
        super().__init__(400, "invalid_request", message)


@dataclass
class Upload:
    """An uploaded file: its name as the client gave it, and its content in chunks."""

    filename: str | None
    chunks: AsyncIterator[bytes]


def refuse_oversized(request: web.Request, store: FileStore) -> None:
    """`FileTooLarge` before reading anything when the declared body cannot fit the store."""
    if request.content_length is not None and (
        request.content_length > store.max_bytes + MULTIPART_OVERHEAD
    ):
        raise FileTooLarge(store.max_bytes)


async def uploaded_file(request: web.Request, field: str = "file") -> Upload:
    """The multipart field `field` as an `Upload`; `MissingUpload` if there is none."""
    if not request.content_type.startswith("multipart/"):
        raise MissingUpload(f"send the file as multipart/form-data field `{field}`")
    if request.headers.get(CSRF_HEADER) is None:
        value = (await request.post()).get(field)
        if not isinstance(value, web.FileField):
            raise MissingUpload(f"no multipart field named `{field}`")
        return Upload(value.filename, _file_chunks(value))
    try:
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if isinstance(part, BodyPartReader) and part.name == field:
                return Upload(part.filename, _part_chunks(part))
            if isinstance(part, BodyPartReader):
                await part.release()
    except (ValueError, AssertionError) as error:
        raise MissingUpload(f"malformed multipart body: {error}") from None
    except HttpProcessingError:  # e.g. a control character in a part's header
        raise MissingUpload("malformed multipart body: a part's headers are invalid") from None
    raise MissingUpload(f"no multipart field named `{field}`")


async def _file_chunks(value: web.FileField) -> AsyncIterator[bytes]:
    while chunk := value.file.read(CHUNK_BYTES):
        yield chunk


async def _part_chunks(part: BodyPartReader) -> AsyncIterator[bytes]:
    while chunk := await part.read_chunk(CHUNK_BYTES):
        yield chunk
