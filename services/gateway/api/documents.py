"""Documents issued with custody facts — the holder's berita acara, the write-off
proposal — as handover stored them (``laptop_documents``): the public record a
document's QR opens, the PDF, and whether a given PDF is the one that was issued."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from events.catalog import DOCUMENT_ID
from services.gateway.api.laptops import NOT_FOUND
from services.gateway.api.render import binary, problems
from services.gateway.api.responses import BastCheck, DocumentRecord
from services.gateway.bootstrap import Gateway
from services.gateway.deps import GW, Anyone, SignedIn
from services.gateway.errors import ApiError
from services.gateway.uploads import PDF_UPLOAD, hash_upload

router = APIRouter(prefix="/api/v1", tags=["documents"])
DocumentId = Annotated[str, Path(pattern=DOCUMENT_ID, examples=["SRHPPSKGESNAC-assignment-1"])]


async def _document(gw: Gateway, document_id: str) -> dict[str, Any]:
    doc = await gw.consignments.document(document_id)
    if doc is None:
        raise ApiError(404, "unknown_document", f"No document {document_id}: check the id printed under its QR.")
    return doc


@router.get(
    "/documents/{document_id}",
    response_model=DocumentRecord,
    responses=NOT_FOUND,
    summary="What a document's QR opens: its number, date, laptop and SHA-256",
)
async def document_record(who: Anyone, document_id: DocumentId, gw: GW) -> DocumentRecord:
    """Public, like a BAST's record: no names; the PDF needs sign-in."""
    doc = await _document(gw, document_id)
    return DocumentRecord(
        document_id=document_id,
        kind=doc["kind"],
        asset_id=doc["asset_id"],
        number=doc["number"],
        issued_at=doc["issued_at"],
        office_code=doc.get("office_code"),
        sha256=doc["recorded_sha256"],
        pdf_url=f"/api/v1/documents/{document_id}/pdf",
    )


@router.get(
    "/documents/{document_id}/pdf",
    response_class=Response,
    responses=binary("application/pdf", "The document exactly as issued (its SHA-256 is recorded).", 404),
    summary="The document's PDF",
)
async def document_pdf(who: SignedIn, document_id: DocumentId, gw: GW) -> Response:
    """The holder's berita acara or the write-off proposal, as issued."""
    doc = await _document(gw, document_id)
    return Response(
        bytes(doc["pdf"]),
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{document_id}.pdf"'},
    )


@router.post(
    "/documents/{document_id}/verify",
    response_model=BastCheck,
    responses={**NOT_FOUND, **problems(400)},
    summary="Does this PDF match the recorded document?",
    openapi_extra={"requestBody": PDF_UPLOAD},
)
async def verify_document(who: Anyone, document_id: DocumentId, request: Request, gw: GW) -> dict[str, Any]:
    """Hashes the file as it arrives and compares it with the SHA-256 recorded in the fact that issued it."""
    doc = await _document(gw, document_id)
    sha = await hash_upload(request)
    if sha is None:
        raise ApiError(400, "empty_file", "Send the PDF file as the request body or as form field 'file'.")
    return {
        "matches": sha == doc["recorded_sha256"],
        "sha256": sha,
        "recorded_sha256": doc["recorded_sha256"],
        "number": doc["number"],
    }
