"""The committed JSON Schemas are generated from events/ and must not drift;
every message the services produce validates against its schema."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema

from events import codec
from events.catalog import BY_TYPE
from events.schemas import all_schemas
from tests.builders import allocate, dispatch, new_asset, receive, register

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"


def test_committed_schemas_match_the_code() -> None:
    generated = all_schemas()
    committed = {p.name: json.loads(p.read_text()) for p in SCHEMAS.glob("*.json")}
    assert sorted(committed) == sorted(generated), "run `make schemas` and commit schemas/"
    for name, schema in generated.items():
        assert committed[name] == json.loads(json.dumps(schema)), f"{name} drifted: run `make schemas`"


def test_every_catalogue_type_has_a_schema() -> None:
    assert {f"{t}.json" for t in BY_TYPE} == set(all_schemas())


def test_wire_messages_validate_against_their_schema() -> None:
    serial, asset = new_asset()
    for envelope in (
        register(serial, asset),
        allocate(asset, consignment="C-9"),
        dispatch(asset),
        receive(asset, condition="RB"),
    ):
        schema = json.loads((SCHEMAS / f"{envelope.type}.json").read_text())
        jsonschema.validate(json.loads(codec.encode(envelope)), schema)


def test_a_schema_rejects_a_wrong_message() -> None:
    _, asset = new_asset()
    doc = json.loads(codec.encode(allocate(asset)))
    doc["data"]["office_code"] = 12
    schema = json.loads((SCHEMAS / f"{doc['type']}.json").read_text())
    try:
        jsonschema.validate(doc, schema)
    except jsonschema.ValidationError:
        return
    raise AssertionError("schema accepted an invalid office_code")


def test_the_committed_openapi_document_matches_the_gateway() -> None:
    from services.cli.main import OPENAPI, openapi_document

    assert OPENAPI.exists(), "run `make schemas` and commit schemas/http/openapi.json"
    committed = json.loads(OPENAPI.read_text())
    assert committed == json.loads(json.dumps(openapi_document())), "the HTTP API changed: run `make schemas`"
