"""The tenancy rule, checked across the code base rather than feature by feature.

1. Every org-owned model refuses a query that does not name its organization.
2. Every selector (accounts/<domain>/selectors.py, apikeys/selectors.py) is run against a second
   organization's rows, and a new selector without such a case fails
   `test_every_selector_has_a_cross_tenant_case`.
3. Application code does not reach for the unscoped managers, except in a short list of places
   that explain why they must.
"""

from __future__ import annotations

import ast
import inspect
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.conf import settings
from django.db.models import Count
from django.utils import timezone

from accounts.audit import selectors as audit_selectors
from accounts.content import selectors as content_selectors
from accounts.core.permissions import Role
from accounts.core.principal import Credential, CredentialKind, Principal
from accounts.core.tenancy import OrgOwnedModel, OrgScopedManager, UnscopedQueryError
from accounts.models import AuditEvent, Document, Invitation, Membership, Organization, Project, User
from accounts.orgs import selectors as org_selectors
from apikeys import keys
from apikeys import selectors as apikey_selectors
from apikeys.models import ApiKey
from tests.factories import (
    AuditEventFactory,
    DocumentFactory,
    MembershipFactory,
    ProjectFactory,
    principal_for,
)

# 1. Org-owned models fail closed


def org_owned_models() -> list[type[OrgOwnedModel]]:
    return sorted(
        (model for model in apps.get_models() if issubclass(model, OrgOwnedModel)),
        key=lambda model: model._meta.label,
    )


UNSCOPED_QUERIES: dict[str, Callable[[Any], Any]] = {
    "all": lambda m: m.objects.all(),
    "filter": lambda m: m.objects.filter(pk=1),
    "exclude": lambda m: m.objects.exclude(pk=1),
    "get": lambda m: m.objects.get(pk=1),
    "first": lambda m: m.objects.first(),
    "count": lambda m: m.objects.count(),
    "exists": lambda m: m.objects.exists(),
    "values": lambda m: m.objects.values("pk"),
    "values_list": lambda m: m.objects.values_list("pk", flat=True),
    "order_by": lambda m: m.objects.order_by("pk"),
    "aggregate": lambda m: m.objects.aggregate(n=Count("pk")),
    "iterator": lambda m: m.objects.iterator(),
    "in_bulk": lambda m: m.objects.in_bulk([1]),
    "select_related": lambda m: m.objects.select_related(),
    "get_or_create": lambda m: m.objects.get_or_create(pk=1),
    "update_or_create": lambda m: m.objects.update_or_create(pk=1),
}


def test_the_org_owned_models_are_discovered() -> None:
    found = set(org_owned_models())
    assert {Membership, Invitation, Project, Document, AuditEvent} <= found
    assert Organization not in found
    assert User not in found


@pytest.mark.parametrize("model", org_owned_models(), ids=lambda m: m._meta.label)
def test_objects_is_the_scoped_manager(model: type[OrgOwnedModel]) -> None:
    # A subclass that redefines `objects` with a plain manager would silently switch the rule off.
    assert isinstance(model.objects, OrgScopedManager)
    assert model._meta.default_manager.name == "all_orgs"  # admin and related lookups only


@pytest.mark.django_db
@pytest.mark.parametrize("query", UNSCOPED_QUERIES.values(), ids=UNSCOPED_QUERIES.keys())
@pytest.mark.parametrize("model", org_owned_models(), ids=lambda m: m._meta.label)
def test_an_unscoped_query_is_refused(model: type[OrgOwnedModel], query: Callable[[Any], Any]) -> None:
    with pytest.raises(UnscopedQueryError, match=model.__name__):
        query(model)


@pytest.mark.django_db
@pytest.mark.parametrize("model", org_owned_models(), ids=lambda m: m._meta.label)
def test_for_org_needs_a_saved_organization(model: type[OrgOwnedModel]) -> None:
    for org in (None, Organization(name="Unsaved", slug="unsaved")):
        with pytest.raises(UnscopedQueryError):
            model.objects.for_org(org)  # type: ignore[arg-type]


# 2. Every selector against another organization's rows


@dataclass
class World:
    """Two organizations with the same kinds of rows, seen from acme's owner."""

    principal: Principal
    org: Organization
    other: Organization
    member: Membership
    other_member: Membership
    project: Project
    other_project: Project
    document: Document
    other_document: Document
    invitation: Invitation
    other_invitation: Invitation
    event: AuditEvent
    other_event: AuditEvent
    owner: Membership
    key: ApiKey
    other_key: ApiKey
    other_plaintext: str


def invitation(org: Organization, token_hash: str) -> Invitation:
    return Invitation.objects.create(
        organization=org,
        email=f"invitee@{org.slug}.test",
        role=Role.MEMBER,
        token_hash=token_hash,
        expires_at=timezone.now() + timedelta(days=7),
    )


def api_key(membership: Membership) -> tuple[ApiKey, str]:
    """A key row written directly: apikey_create() would add audit events to the world."""
    plaintext = keys.generate()
    key = ApiKey.objects.create(
        organization=membership.organization,
        name="CI",
        digest=keys.digest(plaintext),
        hint=keys.hint(plaintext),
        scopes=["projects:read"],
        created_by=membership.user,
    )
    return key, plaintext


@pytest.fixture
def world(org: Organization, other_org: Organization, owner_membership: Membership) -> World:
    other_owner = MembershipFactory(organization=other_org, role=Role.OWNER)
    key, _ = api_key(owner_membership)
    other_key, other_plaintext = api_key(other_owner)
    # The same project slug in both organizations: a lookup by slug alone would pick either.
    project = ProjectFactory(organization=org, slug="handbook")
    other_project = ProjectFactory(organization=other_org, slug="handbook")
    return World(
        principal=principal_for(owner_membership),
        org=org,
        other=other_org,
        member=MembershipFactory(organization=org),
        other_member=MembershipFactory(organization=other_org),
        project=project,
        other_project=other_project,
        document=DocumentFactory(project=project),
        other_document=DocumentFactory(project=other_project),
        invitation=invitation(org, "a" * 64),
        other_invitation=invitation(other_org, "b" * 64),
        event=AuditEventFactory(organization=org, project=project),
        other_event=AuditEventFactory(organization=other_org, project=other_project),
        owner=owner_membership,
        key=key,
        other_key=other_key,
        other_plaintext=other_plaintext,
    )


def only_org(rows: Any, org: Organization) -> list[Any]:
    rows = list(rows)
    assert rows, "the selector should return this organization's rows"
    assert {row.organization_id for row in rows} == {org.pk}
    return rows


def _membership_get(w: World) -> None:
    user = w.principal.user
    assert org_selectors.membership_get(user=user, org_slug=w.org.slug).organization == w.org
    with pytest.raises(Membership.DoesNotExist):
        org_selectors.membership_get(user=user, org_slug=w.other.slug)


def _principal_for_member(w: World) -> None:
    user = w.principal.user
    assert org_selectors.principal_for_member(user=user, org_slug=w.org.slug).organization == w.org
    with pytest.raises(Organization.DoesNotExist):
        org_selectors.principal_for_member(user=user, org_slug=w.other.slug)


def _membership_list_for_user(w: World) -> None:
    assert list(org_selectors.membership_list_for_user(user=w.principal.user)) == [w.owner]


def _organization_list_for_user(w: World) -> None:
    assert list(org_selectors.organization_list_for_user(user=w.principal.user)) == [w.org]


def _memberships_via_user(w: World) -> None:
    assert list(Organization.objects.filter(org_selectors.memberships_via_user(w.principal.user))) == [w.org]


def _member_list(w: World) -> None:
    members = only_org(org_selectors.member_list(principal=w.principal), w.org)
    assert w.other_member not in members


def _member_get(w: World) -> None:
    assert org_selectors.member_get(principal=w.principal, public_id=w.member.public_id) == w.member
    with pytest.raises(Membership.DoesNotExist):
        org_selectors.member_get(principal=w.principal, public_id=w.other_member.public_id)


def _member_get_by_email(w: World) -> None:
    email = w.member.user.email.upper()
    assert org_selectors.member_get_by_email(principal=w.principal, email=email) == w.member
    with pytest.raises(Membership.DoesNotExist):
        org_selectors.member_get_by_email(principal=w.principal, email=w.other_member.user.email)


def _owner_count(w: World) -> None:
    assert org_selectors.owner_count(org=w.org) == 1  # globex's owner is not counted


def _invitation_list_pending(w: World) -> None:
    assert only_org(org_selectors.invitation_list_pending(principal=w.principal), w.org) == [w.invitation]


def _invitation_list_for_recipient(w: World) -> None:
    # Across organizations by design, but only what was sent to the person's own confirmed address.
    person = w.other_member.user
    assert list(org_selectors.invitation_list_for_recipient(user=person)) == []
    mine = Invitation.all_orgs.create(
        organization=w.org,
        email=person.email,
        token_hash="c" * 64,
        expires_at=w.invitation.expires_at,
    )
    assert list(org_selectors.invitation_list_for_recipient(user=person)) == [mine]


def _invitation_get(w: World) -> None:
    assert (
        org_selectors.invitation_get(principal=w.principal, public_id=w.invitation.public_id) == w.invitation
    )
    with pytest.raises(Invitation.DoesNotExist):
        org_selectors.invitation_get(principal=w.principal, public_id=w.other_invitation.public_id)


def _invitation_get_by_token_hash(w: World) -> None:
    # Across organizations by design (the secret link is the authorization): exactly its own row.
    assert org_selectors.invitation_get_by_token_hash(token_hash="b" * 64) == w.other_invitation
    with pytest.raises(Invitation.DoesNotExist):
        org_selectors.invitation_get_by_token_hash(token_hash="c" * 64)


def _project_list(w: World) -> None:
    projects = content_selectors.project_list(principal=w.principal, include_archived=True)
    assert only_org(projects, w.org) == [w.project]


def _project_choices(w: World) -> None:
    assert only_org(content_selectors.project_choices(principal=w.principal), w.org) == [w.project]


def _project_get(w: World) -> None:
    assert content_selectors.project_get(principal=w.principal, slug="handbook") == w.project
    with pytest.raises(Project.DoesNotExist):
        content_selectors.project_get(principal=w.principal, slug=ProjectFactory(organization=w.other).slug)


def _project_get_for_documents(w: World) -> None:
    assert content_selectors.project_get_for_documents(principal=w.principal, slug="handbook") == w.project
    with pytest.raises(Project.DoesNotExist):
        content_selectors.project_get_for_documents(
            principal=w.principal, slug=ProjectFactory(organization=w.other).slug, write=True
        )


def _document_list(w: World) -> None:
    assert only_org(content_selectors.document_list(principal=w.principal, project=w.project), w.org) == [
        w.document
    ]
    # Handed another organization's project, it still lists nothing of it.
    assert list(content_selectors.document_list(principal=w.principal, project=w.other_project)) == []


def _document_get(w: World) -> None:
    assert content_selectors.document_get(principal=w.principal, public_id=w.document.public_id) == w.document
    with pytest.raises(Document.DoesNotExist):
        content_selectors.document_get(principal=w.principal, public_id=w.other_document.public_id)


def _document_list_all(w: World) -> None:
    assert only_org(content_selectors.document_list_all(principal=w.principal), w.org) == [w.document]


def _document_search(w: World) -> None:
    # Both documents have the same body: only this organization's is found.
    found = content_selectors.document_search(principal=w.principal, query="markdown")
    assert only_org(found, w.org) == [w.document]
    foreign = content_selectors.document_search(
        principal=w.principal, query="markdown", project=w.other_project
    )
    assert list(foreign) == []


def _project_restricted_to(w: World) -> None:
    assert content_selectors.project_restricted_to(principal=w.principal) is None
    mine = replace(w.principal, project=w.project)
    assert content_selectors.project_restricted_to(principal=mine) == w.project
    forged = replace(w.principal, project=w.other_project)
    assert content_selectors.project_restricted_to(principal=forged) is None


def _audit_event_list(w: World) -> None:
    assert only_org(audit_selectors.audit_event_list(principal=w.principal), w.org) == [w.event]
    foreign = audit_selectors.AuditFilters(project=w.other_project)
    assert list(audit_selectors.audit_event_list(principal=w.principal, filters=foreign)) == []


# apikeys/selectors.py


def _apikey_visible(w: World) -> None:
    assert only_org(apikey_selectors.apikey_visible(principal=w.principal), w.org) == [w.key]


def _apikey_list(w: World) -> None:
    assert only_org(apikey_selectors.apikey_list(principal=w.principal), w.org) == [w.key]


def _apikey_count_invalid(w: World) -> None:
    ApiKey.objects.for_org(w.other).update(revoked_at=timezone.now())
    assert apikey_selectors.apikey_count_invalid(principal=w.principal) == 0


def _apikey_get(w: World) -> None:
    assert apikey_selectors.apikey_get(principal=w.principal, public_id=w.key.public_id) == w.key
    with pytest.raises(ApiKey.DoesNotExist):
        apikey_selectors.apikey_get(principal=w.principal, public_id=w.other_key.public_id)


def _apikey_get_for_authentication(w: World) -> None:
    # Across organizations by design (the secret is the authorization): exactly its own row.
    found = apikey_selectors.apikey_get_for_authentication(digest=keys.digest(w.other_plaintext))
    assert (found, found.organization) == (w.other_key, w.other)
    with pytest.raises(ApiKey.DoesNotExist):
        apikey_selectors.apikey_get_for_authentication(digest="0" * 64)


def _apikey_list_expiry_due(w: World) -> None:
    for org in (w.org, w.other):
        ApiKey.objects.for_org(org).update(expires_at=timezone.now() - timedelta(hours=1))
    assert only_org(apikey_selectors.apikey_list_expiry_due(org=w.org), w.org) == [w.key]


def _org_first_owner(w: World) -> None:
    assert apikey_selectors.org_first_owner(org=w.org) == w.owner


def _apikey_get_current(w: World) -> None:
    def as_key(public_id: str) -> Principal:
        credential = Credential(kind=CredentialKind.API_KEY, id=public_id, label="sk-…")
        return principal_for(w.owner, scopes=frozenset({"projects:read"}), credential=credential)

    assert apikey_selectors.apikey_get_current(principal=as_key(w.key.public_id)) == w.key
    with pytest.raises(ApiKey.DoesNotExist):
        apikey_selectors.apikey_get_current(principal=as_key(w.other_key.public_id))


CROSS_TENANT_CASES: dict[str, Callable[[World], None]] = {
    "membership_get": _membership_get,
    "principal_for_member": _principal_for_member,
    "membership_list_for_user": _membership_list_for_user,
    "organization_list_for_user": _organization_list_for_user,
    "memberships_via_user": _memberships_via_user,
    "member_list": _member_list,
    "member_get": _member_get,
    "member_get_by_email": _member_get_by_email,
    "owner_count": _owner_count,
    "invitation_list_pending": _invitation_list_pending,
    "invitation_list_for_recipient": _invitation_list_for_recipient,
    "invitation_get": _invitation_get,
    "invitation_get_by_token_hash": _invitation_get_by_token_hash,
    "project_list": _project_list,
    "project_choices": _project_choices,
    "project_get": _project_get,
    "project_get_for_documents": _project_get_for_documents,
    "document_list": _document_list,
    "document_get": _document_get,
    "document_list_all": _document_list_all,
    "document_search": _document_search,
    "project_restricted_to": _project_restricted_to,
    "audit_event_list": _audit_event_list,
    "apikey_visible": _apikey_visible,
    "apikey_list": _apikey_list,
    "apikey_count_invalid": _apikey_count_invalid,
    "apikey_get": _apikey_get,
    "apikey_get_for_authentication": _apikey_get_for_authentication,
    "apikey_list_expiry_due": _apikey_list_expiry_due,
    "org_first_owner": _org_first_owner,
    "apikey_get_current": _apikey_get_current,
}

SELECTOR_MODULES = (org_selectors, content_selectors, audit_selectors, apikey_selectors)


def public_selectors() -> set[str]:
    names = [
        name
        for module in SELECTOR_MODULES
        for name, function in inspect.getmembers(module, inspect.isfunction)
        if function.__module__ == module.__name__ and not name.startswith("_")
    ]
    assert len(names) == len(set(names)), "two selector modules define the same name"
    return set(names)


def test_every_selector_has_a_cross_tenant_case() -> None:
    missing = public_selectors() - CROSS_TENANT_CASES.keys()
    assert not missing, f"add a case to CROSS_TENANT_CASES in tests/test_tenancy.py for: {sorted(missing)}"
    assert not CROSS_TENANT_CASES.keys() - public_selectors(), "remove the cases of deleted selectors"


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(CROSS_TENANT_CASES))
def test_selector_ignores_another_organizations_rows(name: str, world: World) -> None:
    CROSS_TENANT_CASES[name](world)


# 3. No unscoped managers in application code

APP_DIRS = ("accounts", "apikeys", "mcpserver")
# Wholesale exclusions: schema history, the admin (staff see every tenant on purpose) and the rule itself.
EXCLUDED = ("/migrations/", "/admin.py", "accounts/core/tenancy.py")
UNSCOPED_NAMES = {"all_orgs", "_default_manager", "_base_manager"}

# "<file>:<function>" -> why this code must see rows of any organization. Keep it short; each entry
# is a place where a bug could leak across tenants, so each names what scopes it instead.
# Management commands that legitimately span organizations are listed here too.
ALLOWED: dict[str, str] = {
    "accounts/orgs/selectors.py:membership_get": (
        "Finds which organization a signed-in user may enter, before any principal exists; "
        "filtered by the user's own id."
    ),
    "accounts/orgs/selectors.py:membership_list_for_user": (
        "The person's own memberships (what a password change revokes), filtered by their user id."
    ),
    "accounts/orgs/selectors.py:memberships_via_user": (
        "The organization switcher: the user's own memberships, across the organizations they belong to."
    ),
    "accounts/orgs/selectors.py:invitation_get_by_token_hash": (
        "Someone not yet in the organization opens an invitation link; the secret token is the authorization."
    ),
    "accounts/orgs/services.py:_invitation_accept_in_scope": (
        "Locks the invitation just found by its secret token (see above) or by its addressee's "
        "confirmed email (invitation_accept_as_recipient), before the new member has a principal."
    ),
    "accounts/orgs/services.py:invitation_accept_as_recipient": (
        "Finds the invitation by id; _invitation_accept then refuses anyone but its confirmed addressee."
    ),
    "accounts/orgs/selectors.py:invitation_list_for_recipient": (
        "The signed-in person's own pending invitations: filtered by their confirmed email address."
    ),
    "accounts/audit/chain.py:seal_pending": (
        "The audit sealer: runs after commit with only an organization id and filters on it explicitly "
        "(one chain per organization); its plain QuerySet(AuditEvent) is the one update the model allows."
    ),
    "accounts/audit/chain.py:organizations_left_unsealed": (
        "The sealer's sweep across organizations: returns only the ids of those with unsealed events, "
        "which are then sealed one organization at a time."
    ),
    "apikeys/selectors.py:apikey_get_for_authentication": (
        "A bearer key is looked up by its digest before its organization is known; the secret is "
        "the authorization."
    ),
    "accounts/oauth/resolver.py:access_token_get_for_authentication": (
        "An OAuth access token is looked up by its checksum before its organization is known; the "
        "secret is the authorization (the membership subquery is keyed on the token's organization)."
    ),
    "accounts/oauth/selectors.py:consent_organizations": (
        "The consent page's organization picker: the signed-in user's own memberships and roles, "
        "across the organizations they belong to."
    ),
    "accounts/oauth/selectors.py:reuse_events_for_user": (
        "The person's Connected apps page: refresh-token reuse events whose actor is that person, in "
        "the organizations they belong to."
    ),
}


def unscoped_uses(source: str, path: str) -> Iterator[tuple[str, int]]:
    """("<path>:<function>", line) for each use of an unscoped manager in this source."""

    class Finder(ast.NodeVisitor):
        def __init__(self) -> None:
            self.scope: list[str] = []
            self.found: list[tuple[str, int]] = []

        def _enter(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> None:
            self.scope.append(node.name)
            self.generic_visit(node)
            self.scope.pop()

        visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = _enter

        def _hit(self, node: ast.AST) -> None:
            # The innermost function names the place; module level is "<module>".
            self.found.append((f"{path}:{self.scope[-1] if self.scope else '<module>'}", node.lineno))

        def visit_Attribute(self, node: ast.Attribute) -> None:
            if node.attr in UNSCOPED_NAMES:
                self._hit(node)
            self.generic_visit(node)

        def visit_Constant(self, node: ast.Constant) -> None:
            if node.value in UNSCOPED_NAMES:  # getattr(Model, "all_orgs")
                self._hit(node)

        def visit_Call(self, node: ast.Call) -> None:
            # models.QuerySet(Model), QuerySet(Model) or QuerySet(model=Model): a queryset with no manager.
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name == "QuerySet" and (node.args or node.keywords):
                self._hit(node)
            self.generic_visit(node)

    finder = Finder()
    finder.visit(ast.parse(source))
    yield from finder.found


def application_files() -> Iterator[Path]:
    root = Path(settings.BASE_DIR)
    for app_dir in APP_DIRS:
        for path in sorted((root / app_dir).rglob("*.py")):
            relative = path.relative_to(root).as_posix()
            if not any(part in f"/{relative}" for part in EXCLUDED):
                yield path


def test_the_finder_sees_every_spelling() -> None:
    source = (
        "def leak(org):\n"
        "    return Project.all_orgs.filter(name='x')\n"
        "class View:\n"
        "    def get(self):\n"
        "        return getattr(Document, 'all_orgs').all(), Membership._default_manager.all()\n"
        "def raw(org):\n"
        "    return models.QuerySet(Project), QuerySet(model=Document)\n"
    )
    assert [place for place, _ in unscoped_uses(source, "x.py")] == [
        "x.py:leak",
        "x.py:get",
        "x.py:get",
        "x.py:raw",
        "x.py:raw",
    ]


def test_application_code_does_not_use_unscoped_managers() -> None:
    root = Path(settings.BASE_DIR)
    uses: dict[str, list[int]] = {}
    for path in application_files():
        relative = path.relative_to(root).as_posix()
        for place, line in unscoped_uses(path.read_text(), relative):
            uses.setdefault(place, []).append(line)

    unexpected = {place: lines for place, lines in uses.items() if place not in ALLOWED}
    assert not unexpected, (
        "Unscoped manager (.all_orgs/_default_manager) in application code. Use Model.objects.for_org(org) "
        f"or .visible_to(principal), or add the place to ALLOWED with the reason: {unexpected}"
    )
    stale = ALLOWED.keys() - uses.keys()
    assert not stale, f"ALLOWED lists places that no longer need it; remove them: {sorted(stale)}"
