import pytest
from django.core.management import call_command

from accounts.models import Document, Membership, Organization, Project, User


@pytest.mark.django_db
def test_seed_demo_is_idempotent() -> None:
    call_command("seed_demo")
    call_command("seed_demo")
    org = Organization.objects.get(slug="demo")
    assert User.objects.filter(email="demo@gatehouse.local").count() == 1
    assert Membership.objects.for_org(org).count() == 1
    assert Project.objects.for_org(org).count() == 1
    assert Document.objects.for_org(org).count() == 1
