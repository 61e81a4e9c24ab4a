"""“Everything this key did”: the API keys page links to the audit log filtered by the credential."""

from __future__ import annotations

from django.test import Client
from django.urls import reverse

from accounts.core.principal import Channel, CredentialKind
from accounts.models import Membership
from tests.factories import AuditEventFactory
from tests.support.apikeys import make_key


def test_the_key_list_links_to_the_audit_log_of_each_key(
    owner_client: Client, owner_membership: Membership
) -> None:
    key, _ = make_key(owner_membership)
    response = owner_client.get(reverse("apikeys:list", args=["acme"]))
    assert (
        f"{reverse('accounts:audit', args=['acme'])}?credential={key.public_id}" in response.content.decode()
    )


def test_the_audit_log_filters_by_credential(owner_client: Client, owner_membership: Membership) -> None:
    org = owner_membership.organization
    mine = AuditEventFactory(
        organization=org, channel=Channel.MCP, credential_kind=CredentialKind.API_KEY, credential_id="key_one"
    )
    other = AuditEventFactory(
        organization=org, channel=Channel.MCP, credential_kind=CredentialKind.API_KEY, credential_id="key_two"
    )
    response = owner_client.get(reverse("accounts:audit", args=["acme"]), {"credential": "key_one"})
    assert response.status_code == 200
    page = response.content.decode()
    assert mine.target_label in page
    assert other.target_label not in page
    assert "Showing only what the credential" in page
    assert 'type="hidden" name="credential" value="key_one"' in page
