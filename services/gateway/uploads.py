"""A BAST PDF sent to be checked: hashed as it arrives, never held whole (it may be
up to ``max_bast_upload_bytes``), and how a route that takes one declares its body
in the OpenAPI document. The JSON verify route and the record page's form share both."""

from __future__ import annotations

import hashlib
from typing import Any

from fastapi import Request
from starlette.datastructures import UploadFile

PDF_UPLOAD: dict[str, Any] = {
    "required": True,
    "description": "The PDF file itself, or a form with the file in field `file`.",
    "content": {
        "application/pdf": {"schema": {"type": "string", "format": "binary", "minLength": 1}},
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["file"],
                "properties": {"file": {"type": "string", "format": "binary", "minLength": 1}},
            }
        },
    },
}

# The page's form: without a file the page comes back asking for one.
PAGE_UPLOAD: dict[str, Any] = {
    "required": False,
    "description": "The form with the PDF file in field `file` (or the file itself).",
    "content": {
        "multipart/form-data": {
            "schema": {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}}}
        },
        "application/pdf": {"schema": {"type": "string", "format": "binary"}},
    },
}


async def hash_upload(request: Request) -> str | None:
    """SHA-256 of the uploaded PDF (raw body or form field ``file``), None if empty."""
    h, size = hashlib.sha256(), 0
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        form = await request.form()  # file parts over 1 MiB are spooled to disk by starlette
        upload = form.get("file")
        while isinstance(upload, UploadFile) and (chunk := await upload.read(256 * 1024)):
            h.update(chunk)
            size += len(chunk)
    else:
        async for chunk in request.stream():
            h.update(chunk)
            size += len(chunk)
    return h.hexdigest() if size else None
