"""The read API described as OpenAPI 3.1, served at /api/openapi.json (a test validates it)."""
from __future__ import annotations

from typing import Any

NULLABLE_STR = {"type": ["string", "null"]}
NULLABLE_DATE = {"type": ["string", "null"], "format": "date-time"}
STEPS = ("p1", "p2", "p3", "p4", "p5", "p6", "p7")


def _list_of(ref: str) -> dict[str, Any]:
    return {"type": "object", "required": ["data", "next_after_id"], "properties": {
        "data": {"type": "array", "items": {"$ref": f"#/components/schemas/{ref}"}},
        "next_after_id": {"type": ["integer", "null"],
                          "description": "Pass as after_id for the next page; null on the last page."}}}


def _ok(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "200": {"description": description, "content": {"application/json": {"schema": schema}}},
        "401": {"$ref": "#/components/responses/Unauthorized"},
        "429": {"$ref": "#/components/responses/RateLimited"},
    }


PAGING = [
    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 500, "default": 100}},
    {"name": "after_id", "in": "query", "schema": {"type": "integer", "minimum": 0, "default": 0}},
]
OWNER_ID = {"name": "owner_id", "in": "path", "required": True, "schema": {"type": "integer"}}


def document() -> dict[str, Any]:
    error = {"type": "object", "required": ["error", "message"],
             "properties": {"error": {"type": "string"}, "message": {"type": "string"}}}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Asisten UMKM read API",
            "version": "1.0.0",
            "description": "Owners, their legality pathway and JakPreneur programme steps (P1-P7), mentor cases, "
                           "training events and indicators. Each client token is scoped to one city area or all "
                           "of Jakarta, rate-limited per minute and audited. No phone numbers or message text.",
        },
        "security": [{"bearer": []}],
        "paths": {
            "/api/v1/owners": {"get": {
                "summary": "Registered and imported owners in the client's area, by id",
                "parameters": PAGING, "responses": _ok(_list_of("Owner"), "A page of owners")}},
            "/api/v1/owners/{owner_id}": {"get": {
                "summary": "One owner", "parameters": [OWNER_ID],
                "responses": {**_ok({"$ref": "#/components/schemas/Owner"}, "The owner"),
                              "404": {"$ref": "#/components/responses/NotFound"}}}},
            "/api/v1/owners/{owner_id}/pathway": {"get": {
                "summary": "The owner's legality pathway: each step, its status, permit number and expiry",
                "parameters": [OWNER_ID],
                "responses": {**_ok({"$ref": "#/components/schemas/Pathway"}, "The pathway"),
                              "404": {"$ref": "#/components/responses/NotFound"}}}},
            "/api/v1/cases": {"get": {
                "summary": "Mentor cases of the area's owners",
                "parameters": PAGING + [{"name": "status", "in": "query",
                                         "schema": {"type": "string", "enum": ["open", "taken", "resolved"]}}],
                "responses": {**_ok(_list_of("Case"), "A page of cases"),
                              "400": {"$ref": "#/components/responses/BadRequest"}}}},
            "/api/v1/events": {"get": {
                "summary": "Training events, with the area's registrations and attendance",
                "parameters": PAGING, "responses": _ok(_list_of("Event"), "A page of events")}},
            "/api/v1/indicators": {"get": {
                "summary": "The programme funnel (P1-P7), the legality funnel and cases by status",
                "responses": _ok({"$ref": "#/components/schemas/Indicators"}, "The indicators")}},
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "description": "A token from `umkm-bot api clients create`."}},
            "responses": {
                "Unauthorized": {"description": "No or a revoked token",
                                 "content": {"application/json": {"schema": error}}},
                "RateLimited": {"description": "Over the client's per-minute limit; see Retry-After",
                                "headers": {"Retry-After": {"schema": {"type": "integer"}}},
                                "content": {"application/json": {"schema": error}}},
                "NotFound": {"description": "No such owner in the client's area",
                             "content": {"application/json": {"schema": error}}},
                "BadRequest": {"description": "A parameter is out of range",
                               "content": {"application/json": {"schema": error}}},
            },
            "schemas": {
                "Owner": {"type": "object", "required": ["id", "legality_stage", "permits", "programme"], "properties": {
                    "id": {"type": "integer"}, "name": NULLABLE_STR, "business_name": NULLABLE_STR,
                    "sector": {"type": ["string", "null"], "enum": ["food", "cosmetics", "herbal", "other", None]},
                    "products": {"type": "array", "items": {"type": "string"}},
                    "city": NULLABLE_STR, "city_name": NULLABLE_STR, "district": NULLABLE_STR,
                    "district_name": NULLABLE_STR, "lang": {"type": "string"}, "registered_at": NULLABLE_DATE,
                    "opted_out": {"type": "boolean"},
                    "legality_stage": {"type": "string",
                                       "enum": ["unregistered", "registered", "nib", "product_permit", "halal"]},
                    "permits": {"type": "array", "items": {"type": "string",
                                                           "enum": ["nib", "pkp", "pirt", "bpom", "halal"]}},
                    "programme": {"type": "object", "description": "The day each JakPreneur step was reached",
                                  "properties": {s: {"type": ["string", "null"], "format": "date"} for s in STEPS}},
                }},
                "Pathway": {"type": "object", "required": ["owner_id", "steps"], "properties": {
                    "owner_id": {"type": "integer"},
                    "steps": {"type": "array", "items": {"type": "object", "properties": {
                        "step": {"type": "string"}, "name": {"type": "string"},
                        "status": {"type": "string", "enum": ["todo", "in_progress", "done", "rejected"]},
                        "product": NULLABLE_STR, "number": NULLABLE_STR,
                        "expires_on": {"type": ["string", "null"], "format": "date"}, "rejection": NULLABLE_STR}}},
                }},
                "Case": {"type": "object", "required": ["id", "owner_id", "status"], "properties": {
                    "id": {"type": "integer"}, "owner_id": {"type": "integer"}, "topic": {"type": "string"},
                    "status": {"type": "string", "enum": ["open", "taken", "resolved"]},
                    "priority": {"type": "integer"}, "created_at": NULLABLE_DATE, "taken_at": NULLABLE_DATE,
                    "resolved_at": NULLABLE_DATE, "rating": {"type": ["integer", "null"], "minimum": 1, "maximum": 5},
                }},
                "Event": {"type": "object", "required": ["id", "title", "starts_at"], "properties": {
                    "id": {"type": "integer"}, "title": {"type": "string"}, "kind": {"type": "string"},
                    "starts_at": NULLABLE_DATE, "ends_at": NULLABLE_DATE, "place": NULLABLE_STR, "link": NULLABLE_STR,
                    "quota": {"type": ["integer", "null"]}, "status": {"type": "string"},
                    "registered": {"type": "integer"}, "waitlisted": {"type": "integer"}, "attended": {"type": "integer"},
                }},
                "Indicators": {"type": "object", "properties": {
                    "area": NULLABLE_STR,
                    "programme": {"type": "object", "properties": {s: {"type": "integer"} for s in STEPS}},
                    "legality_funnel": {"type": "object", "additionalProperties": {"type": "integer"}},
                    "cases": {"type": "object", "additionalProperties": {"type": "integer"}},
                }},
            },
        },
    }
