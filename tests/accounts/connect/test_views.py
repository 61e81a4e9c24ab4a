import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Membership, Organization

pytestmark = pytest.mark.django_db


def test_connect_page_shows_this_deployments_endpoints_and_every_client(
    client: Client, viewer_membership: Membership, settings: object
) -> None:
    client.force_login(viewer_membership.user)
    response = client.get(reverse("accounts:connect", kwargs={"org_slug": "acme"}))
    page = response.content.decode()
    assert response.status_code == 200
    assert "http://127.0.0.1:8000/mcp" in page
    assert "/.well-known/oauth-protected-resource/mcp" in page
    for client_name in ("Claude", "ChatGPT", "Claude Code", "Cursor", "VS Code", "Codex"):
        assert f">{client_name}</h2>" in page
    assert "sk-" not in page.replace("<code>sk-…</code>", "")  # placeholders only, never a key


def test_connect_page_of_another_organization_is_a_404(
    client: Client, viewer_membership: Membership, other_org: Organization
) -> None:
    client.force_login(viewer_membership.user)
    assert client.get(reverse("accounts:connect", kwargs={"org_slug": other_org.slug})).status_code == 404
    assert client.get(reverse("accounts:connect", kwargs={"org_slug": "missing"})).status_code == 404
