from __future__ import annotations

import factory
from django.utils import timezone

from accounts.core.permissions import Role
from accounts.core.principal import Channel, Principal
from accounts.models import AuditEvent, Document, Membership, Organization, Project, User

PASSWORD = "correct horse battery staple"


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    name = factory.Faker("name")
    # People in tests have confirmed their address; tests of confirmation pass email_verified_at=None.
    email_verified_at = factory.LazyFunction(timezone.now)
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj: User, create: bool, extracted: object, **kwargs: object) -> None:
        if create:
            obj.save()


class OrganizationFactory(factory.django.DjangoModelFactory[Organization]):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Organization {n}")
    slug = factory.Sequence(lambda n: f"org-{n}")


class MembershipFactory(factory.django.DjangoModelFactory[Membership]):
    class Meta:
        model = Membership

    organization = factory.SubFactory(OrganizationFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.MEMBER


class ProjectFactory(factory.django.DjangoModelFactory[Project]):
    class Meta:
        model = Project

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Project {n}")
    slug = factory.Sequence(lambda n: f"project-{n}")
    description = "A project for tests."


class DocumentFactory(factory.django.DjangoModelFactory[Document]):
    class Meta:
        model = Document

    project = factory.SubFactory(ProjectFactory)
    organization = factory.LazyAttribute(lambda d: d.project.organization)
    title = factory.Sequence(lambda n: f"Document {n}")
    body = "# Heading\n\nSome *markdown* text."
    updated_at = factory.LazyFunction(timezone.now)


class AuditEventFactory(factory.django.DjangoModelFactory[AuditEvent]):
    """An unsealed event written directly; services write real ones through audit_record()."""

    class Meta:
        model = AuditEvent

    organization = factory.SubFactory(OrganizationFactory)
    action = "project.created"
    channel = Channel.WEB
    actor = None
    actor_label = factory.LazyAttribute(lambda e: e.actor.email if e.actor else "")
    target_label = factory.Sequence(lambda n: f"Target {n}")
    ip = "192.0.2.10"
    user_agent = "pytest"
    data = factory.LazyFunction(dict)


def principal_for(membership: Membership, **overrides: object) -> Principal:
    """A principal as the dashboard builds it for this membership."""
    values: dict[str, object] = {
        "user": membership.user,
        "organization": membership.organization,
        "role": Role(membership.role),
        "channel": Channel.WEB,
        "ip": "127.0.0.1",
        "user_agent": "pytest",
    }
    values.update(overrides)
    return Principal(**values)  # type: ignore[arg-type]
