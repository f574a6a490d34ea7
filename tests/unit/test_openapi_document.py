"""The OpenAPI document says everything a generated client needs: every status a
route can answer with its content type, a summary and a description for each."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from services.cli.main import openapi_document

DOC = openapi_document()
OPERATIONS = [(f"{method.upper()} {path}", op) for path, ops in DOC["paths"].items() for method, op in ops.items()]
COMMANDS = [
    "POST /api/v1/laptops",
    "POST /api/v1/laptops/{asset_id}/allocation",
    "POST /api/v1/laptops/{asset_id}/label/reissue",
    "POST /api/v1/scans/dispatch",
    "POST /api/v1/scans/receipt",
    "POST /api/v1/scans/attestation",
    "POST /api/v1/consignments",
    "POST /api/v1/consignments/{consignment_id}/scans",
    "POST /api/v1/consignments/{consignment_id}/close",
    "POST /api/v1/consignments/{consignment_id}/receipt",
    "POST /api/v1/consignments/{consignment_id}/receipt-code",
    "POST /api/v1/laptops/{asset_id}/holder",
    "POST /api/v1/scans/assignment",
    "POST /api/v1/scans/holder-return",
    "POST /api/v1/scans/repair-out",
    "POST /api/v1/scans/repair-back",
    "POST /api/v1/laptops/{asset_id}/loss",
    "POST /api/v1/scans/recovery",
    "POST /api/v1/scans/warehouse-return",
    "POST /api/v1/laptops/{asset_id}/write-off",
    "POST /api/v1/laptops/{asset_id}/write-off/approval",
    "POST /api/v1/laptops/{asset_id}/write-off/decline",
    "POST /api/v1/offices/{code}/roster",
    "POST /api/v1/transfers",
    "POST /api/v1/transfers/{consignment_id}/scans",
    "POST /api/v1/transfers/{consignment_id}/close",
]
FILES = {
    "GET /api/v1/laptops/{asset_id}/qr.svg": "image/svg+xml",
    "GET /api/v1/laptops/{asset_id}/qr.png": "image/png",
    "GET /api/v1/labels.pdf": "application/pdf",
    "GET /api/v1/consignments/{consignment_id}/bast.pdf": "application/pdf",
    "GET /api/v1/documents/{document_id}/pdf": "application/pdf",
    "POST /api/v1/consignments/{consignment_id}/manifest.pdf": "application/pdf",
    "GET /api/v1/audit/export.csv": "text/csv",
    "GET /api/v1/audit/export.jsonl": "application/x-ndjson",
    "GET /api/v1/audit/laptops/{asset_id}/proof": "application/x-ndjson",
}
op = dict(OPERATIONS)


@pytest.mark.parametrize(("name", "operation"), OPERATIONS, ids=[n for n, _ in OPERATIONS])
def test_every_operation_has_a_summary_and_a_description(name: str, operation: dict[str, Any]) -> None:
    assert operation.get("summary") and len(operation["summary"]) > 10, name
    assert operation.get("description") and len(operation["description"]) > 20, name


@pytest.mark.parametrize(("name", "operation"), OPERATIONS, ids=[n for n, _ in OPERATIONS])
def test_every_refusal_is_documented_as_problem_json(name: str, operation: dict[str, Any]) -> None:
    answers = operation["responses"]
    if operation.get("parameters") or operation.get("requestBody"):
        assert "422" in answers, name
    if operation.get("requestBody"):
        assert {"400", "413"} <= set(answers), name
    for status, answer in answers.items():
        page = "pages" in operation.get("tags", []) and list(answer["content"]) == ["text/html"]
        if int(status) >= 400 and name != "GET /healthz" and not page:
            assert list(answer["content"]) == ["application/problem+json"], (name, status)
            assert answer["content"]["application/problem+json"]["schema"] == {"$ref": "#/components/schemas/Problem"}


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_route_documents_its_pending_answer_with_a_location(name: str) -> None:
    pending = op[name]["responses"]["202"]
    assert pending["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/DecisionResponse"}
    assert "Location" in pending["headers"]


def test_the_command_routes_are_all_the_routes_that_answer_pending() -> None:
    assert sorted(n for n, o in OPERATIONS if "202" in o["responses"]) == sorted(COMMANDS)


@pytest.mark.parametrize(("name", "media_type"), FILES.items())
def test_a_file_route_documents_its_file_type_only(name: str, media_type: str) -> None:
    assert list(op[name]["responses"]["200"]["content"]) == [media_type]


def test_the_receipt_and_manifest_document_their_403() -> None:
    assert "403" in op["POST /api/v1/consignments/{consignment_id}/receipt"]["responses"]
    assert "403" in op["POST /api/v1/consignments/{consignment_id}/manifest.pdf"]["responses"]


def test_a_plan_gives_either_laptops_or_a_count_in_the_schema() -> None:
    plan = DOC["components"]["schemas"]["PlanRequest"]
    assert [b["required"] for b in plan["oneOf"]] == [["expected"], ["expected_count"]]


def test_the_bast_check_documents_the_pdf_it_takes() -> None:
    body = op["POST /api/v1/consignments/{consignment_id}/bast/verify"]["requestBody"]
    assert {"application/pdf", "multipart/form-data"} == set(body["content"])


@pytest.mark.parametrize("name", ["GET /", "GET /bast/{consignment_id}", "POST /bast/{consignment_id}"])
def test_a_page_documents_html(name: str) -> None:
    assert list(op[name]["responses"]["200"]["content"]) == ["text/html"]


def test_no_framework_validation_schema_is_left_in_the_document() -> None:
    assert not {"HTTPValidationError", "ValidationError"} & set(DOC["components"]["schemas"])


@given(
    expected=st.one_of(st.none(), st.lists(st.just("SRHPPSKGESNAC"), max_size=2)),
    count=st.one_of(st.none(), st.just(None), st.integers(min_value=1, max_value=5000)),
    count_given=st.booleans(),
)
def test_the_schema_and_the_server_agree_on_laptops_or_a_count(
    expected: list[str] | None, count: int | None, count_given: bool
) -> None:
    from services.gateway.api.requests import PlanRequest

    body: dict[str, Any] = {
        "consignment_id": "KSB-73.71-001",
        "office_code": "73.71",
        "officials": [{"name": "Andi", "nip": "198001012005011001", "jabatan": "Kepala"}],
        "legal_basis": {"kind": "contract", "number": "K-1", "date": "2026-10-01"},
    }
    if expected is not None:
        body["expected"] = expected
    if count_given:
        body["expected_count"] = count
    try:
        PlanRequest.model_validate(body)
        server = True
    except ValidationError:
        server = False
    schema = jsonschema.Draft202012Validator(PlanRequest.model_json_schema())
    assert schema.is_valid(body) == server, body


@pytest.mark.parametrize(("name", "operation"), OPERATIONS, ids=[n for n, _ in OPERATIONS])
def test_every_json_answer_has_a_schema_with_named_fields(name: str, operation: dict[str, Any]) -> None:
    # A route returning an untyped dict documents `{}`: a client learns nothing of its fields.
    for status, answer in operation["responses"].items():
        schema = answer.get("content", {}).get("application/json", {}).get("schema")
        if schema is None:
            continue
        while schema.get("type") == "array":
            schema = schema["items"]
        assert "$ref" in schema or schema.get("properties") or schema.get("oneOf"), (name, status, schema)
