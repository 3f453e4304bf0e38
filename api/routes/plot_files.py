"""A plot's photos and documents served to everybody (/maps/plots/{id}/files/{n}).

A file is served as what its content was found to be (``locations.attachments``), never
as what a name or the browser guesses: with its own Content-Type, ``nosniff``, a CSP
that lets nothing run, images inline and PDFs as downloads.
"""

from __future__ import annotations

import re
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from api.deps import ConnectionDep, PlotId
from api.responses import error_responses
from locations import attachments
from locations.values import BIGINT_MAX

router = APIRouter(tags=["pages"])
FileId = Annotated[int, Path(ge=1, le=BIGINT_MAX, description="A file's id")]

FILE_RESPONSE = {200: {"description": "The file as it was checked: a PDF, JPEG or PNG",
                       "content": {media: {"schema": {"type": "string", "format": "binary"}}
                                   for media in attachments.MEDIA_TYPES.values()}}}


@router.get("/maps/plots/{plot_id}/files/{file_id}", response_class=Response,
            summary="A photo or document of a plot", responses={**FILE_RESPONSE,
                                                                **error_responses(404)})
def serve(conn: ConnectionDep, plot_id: PlotId, file_id: FileId, request: Request) -> Response:
    """Images inline, PDFs as a download; the ETag is the content's SHA-256."""
    found = attachments.get(conn, plot_id, file_id)
    etag = f'"{found["sha256"]}"'
    inline = found["kind"] in attachments.IMAGE_KINDS
    # The name in the header: ASCII fallback and RFC 5987's UTF-8 form, never raw data.
    ascii_name = re.sub(r"[^A-Za-z0-9._-]+", "-", found["file_name"]).strip("-") or "file"
    headers = {
        "ETag": etag,
        "Content-Disposition": (f"{'inline' if inline else 'attachment'}; "
                                f'filename="{ascii_name}"; '
                                f"filename*=UTF-8''{quote(found['file_name'], safe='')}"),
        "X-Content-Type-Options": "nosniff",
        # Opened on its own, the file may run nothing and load nothing.
        "Content-Security-Policy": "default-src 'none'; img-src 'self'; sandbox",
        "Cache-Control": "public, no-cache",
    }
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(found["content"], media_type=attachments.MEDIA_TYPES[found["kind"]],
                    headers=headers)
