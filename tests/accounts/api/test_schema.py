"""The OpenAPI 3 schema and its docs pages: public, complete, served without a CDN."""

from __future__ import annotations

import re

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_schema_is_openapi_3_with_every_path_and_the_bearer_scheme(client: Client) -> None:
    response = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert set(schema["paths"]) == {
        "/api/v1/whoami/",
        "/api/v1/projects/",
        "/api/v1/projects/{project_slug}/",
        "/api/v1/projects/{project_slug}/archive/",
        "/api/v1/projects/{project_slug}/unarchive/",
        "/api/v1/projects/{project_slug}/documents/",
        "/api/v1/documents/{document_id}/",
        "/api/v1/members/",
        "/api/v1/members/{member_id}/",
        "/api/v1/audit-events/",
    }
    assert schema["components"]["securitySchemes"]["apiKey"]["scheme"] == "bearer"
    list_projects = schema["paths"]["/api/v1/projects/"]["get"]
    assert "projects:read" in list_projects["description"]
    assert {"401", "403", "429"} <= set(list_projects["responses"])


def test_docs_page_loads_its_assets_locally(client: Client) -> None:
    response = client.get("/api/v1/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/drf_spectacular_sidecar/" in html
    external = list(re.findall(r'(?:src|href)="(https?://[^"]+)"', html))
    assert external == []
    assert "cdn.jsdelivr" not in html
    assert "unpkg.com" not in html
