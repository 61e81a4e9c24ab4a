"""Reads. Every org-owned query starts from a `Principal` (or a known organization) and nothing else."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import connection
from django.db.models import Case, Count, F, Max, Q, QuerySet, Value, When
from django.db.models.functions import Coalesce, Greatest, Lower
from django.utils import timezone

from accounts.models import AuditEvent, Document, Invitation, Membership, Organization, Project, User
from accounts.permissions import Permission, Role
from accounts.principal import Channel, Principal


def membership_get(*, user: User, org_slug: str) -> Membership:
    """The user's membership of the organization with this slug; DoesNotExist for non-members."""
    return Membership.all_orgs.select_related("organization").get(
        user_id=user.pk, organization__slug=org_slug
    )


def principal_for_member(
    *, user: User, org_slug: str, channel: Channel = Channel.WEB, ip: str | None = None, user_agent: str = ""
) -> Principal:
    """The one resolver for a signed-in person: raises Organization.DoesNotExist for non-members."""
    try:
        membership = membership_get(user=user, org_slug=org_slug)
    except Membership.DoesNotExist:
        raise Organization.DoesNotExist from None
    return Principal(
        user=user,
        organization=membership.organization,
        role=Role(membership.role),
        channel=channel,
        ip=ip,
        user_agent=user_agent,
    )


def organization_list_for_user(*, user: User) -> QuerySet[Organization]:
    """The organizations a user belongs to, by name."""
    return Organization.objects.filter(memberships_via_user(user)).order_by("name")


def memberships_via_user(user: User) -> Q:
    return Q(pk__in=Membership.all_orgs.filter(user_id=user.pk).values("organization_id"))


def member_list(*, principal: Principal) -> QuerySet[Membership]:
    """Members of the principal's organization, owners first, then by email."""
    principal.require(Permission.MEMBERS_READ)
    owners_first = Case(*(When(role=role, then=Value(-role.rank)) for role in Role), default=Value(0))
    return (
        Membership.objects.visible_to(principal).select_related("user").order_by(owners_first, "user__email")
    )


def member_get(*, principal: Principal, public_id: str) -> Membership:
    principal.require(Permission.MEMBERS_READ)
    return Membership.objects.visible_to(principal).select_related("user").get(public_id=public_id)


def member_get_by_email(*, principal: Principal, email: str) -> Membership:
    """The member with this email (any case); someone who is not a member is DoesNotExist."""
    principal.require(Permission.MEMBERS_READ)
    # Emails are stored lowercased (user_create), so an exact, indexed match does.
    members = Membership.objects.visible_to(principal).select_related("user")
    return members.get(user__email=email.strip().lower())


def owner_count(*, org: Organization) -> int:
    return Membership.objects.for_org(org).filter(role=Role.OWNER).count()


def invitation_list_pending(*, principal: Principal) -> QuerySet[Invitation]:
    principal.require(Permission.MEMBERS_MANAGE)
    return (
        Invitation.objects.visible_to(principal)
        .filter(accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now())
        .select_related("invited_by")
        .order_by("-created_at")
    )


def invitation_get(*, principal: Principal, public_id: str) -> Invitation:
    """One invitation of the principal's organization; another organization's is DoesNotExist."""
    principal.require(Permission.MEMBERS_MANAGE)
    return Invitation.objects.visible_to(principal).get(public_id=public_id)


def invitation_get_by_token_hash(*, token_hash: str) -> Invitation:
    """An invitation found by its secret link, across organizations: the secret is the authorization."""
    return Invitation.all_orgs.select_related("organization", "invited_by").get(token_hash=token_hash)


def project_list(*, principal: Principal, include_archived: bool = False) -> QuerySet[Project]:
    """Projects the principal can see, active first, with document counts and last activity."""
    principal.require(Permission.PROJECTS_READ)
    queryset: QuerySet[Project] = Project.objects.visible_to(principal)
    if not include_archived:
        queryset = queryset.filter(archived_at__isnull=True)
    return queryset.annotate(
        document_count=Count("documents"),
        # Coalesce first: SQLite's GREATEST is NULL when any argument is (a project with no documents).
        last_activity_at=Greatest("updated_at", Coalesce(Max("documents__updated_at"), "updated_at")),
    ).order_by(F("archived_at").asc(nulls_first=True), Lower("name"), "id")  # PostgreSQL sorts NULLs last


def project_choices(*, principal: Principal) -> QuerySet[Project]:
    """Active projects by name, for a dropdown: no counts, no joins."""
    principal.require(Permission.PROJECTS_READ)
    return (
        Project.objects.visible_to(principal)
        .filter(archived_at__isnull=True)
        .only("id", "organization_id", "slug", "name")
        .order_by(Lower("name"), "id")
    )


def project_get(*, principal: Principal, slug: str) -> Project:
    """One visible project by slug; another organization's project is DoesNotExist."""
    principal.require(Permission.PROJECTS_READ)
    return Project.objects.visible_to(principal).get(slug=slug)


def project_restricted_to(*, principal: Principal) -> Project | None:
    """The one project a restricted credential can see (no scope needed: it describes the token)."""
    if principal.project_id is None:
        return None
    return Project.objects.visible_to(principal).filter(pk=principal.project_id).first()


def project_get_for_documents(*, principal: Principal, slug: str, write: bool = False) -> Project:
    """A visible project by slug, reached for its documents: a documents scope suffices, not projects:read."""
    principal.require(Permission.DOCUMENTS_WRITE if write else Permission.DOCUMENTS_READ)
    return Project.objects.visible_to(principal).get(slug=slug)


def document_list(*, principal: Principal, project: Project, query: str = "") -> QuerySet[Document]:
    """Documents of one visible project, most recently updated first."""
    principal.require(Permission.DOCUMENTS_READ)
    queryset = Document.objects.visible_to(principal).filter(project_id=project.pk)
    if query:
        queryset = queryset.filter(Q(title__icontains=query) | Q(body__icontains=query))
    return queryset.select_related("updated_by").order_by("-updated_at", "-id")


def document_get(*, principal: Principal, public_id: str) -> Document:
    principal.require(Permission.DOCUMENTS_READ)
    return (
        Document.objects.visible_to(principal)
        .select_related("project", "created_by", "updated_by")
        .get(public_id=public_id)
    )


def document_list_all(*, principal: Principal) -> QuerySet[Document]:
    """Every visible document of the organization (all visible projects), most recently updated first."""
    principal.require(Permission.DOCUMENTS_READ)
    return Document.objects.visible_to(principal).select_related("project").order_by("-updated_at", "-id")


def document_search(
    *, principal: Principal, query: str, project: Project | None = None
) -> QuerySet[Document]:
    """Visible documents matching `query`, best first: PostgreSQL full-text search, else a substring match."""
    principal.require(Permission.DOCUMENTS_READ)
    queryset = Document.objects.visible_to(principal).select_related("project")
    if project is not None:
        queryset = queryset.filter(project_id=project.pk)
    if connection.vendor == "postgresql":
        from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector

        # Titles weigh more than bodies; websearch syntax ("quoted phrase", -excluded, or).
        vector = SearchVector("title", weight="A", config="english") + SearchVector(
            "body", weight="B", config="english"
        )
        search = SearchQuery(query, search_type="websearch", config="english")
        return (
            queryset.annotate(search=vector, rank=SearchRank(vector, search))
            .filter(search=search)
            .order_by("-rank", "-updated_at", "-id")
        )
    matches = Q()
    for word in query.split():
        matches &= Q(title__icontains=word) | Q(body__icontains=word)
    return queryset.filter(matches).order_by("-updated_at", "-id")


@dataclass(frozen=True)
class AuditFilters:
    actor: User | None = None
    action: str = ""
    project: Project | None = None
    channel: str = ""
    since: datetime | None = None
    until: datetime | None = None
    credential_id: str = ""

    def as_data(self) -> dict[str, str]:
        """The filters that are set, as JSON-ready strings (for the audit event of an export)."""
        values = {
            "actor": self.actor.email if self.actor is not None else "",
            "action": self.action,
            "project": self.project.slug if self.project is not None else "",
            "channel": self.channel,
            "since": self.since.isoformat() if self.since is not None else "",
            "until": self.until.isoformat() if self.until is not None else "",
            "credential_id": self.credential_id,
        }
        return {key: value for key, value in values.items() if value}


def audit_event_list(*, principal: Principal, filters: AuditFilters | None = None) -> QuerySet[AuditEvent]:
    """The organization's audit events, newest first, filtered; paginate with `accounts.pagination`."""
    principal.require(Permission.AUDIT_READ)
    filters = filters or AuditFilters()
    queryset = AuditEvent.objects.visible_to(principal)
    if filters.actor is not None:
        queryset = queryset.filter(actor_id=filters.actor.pk)
    if filters.action:
        queryset = queryset.filter(action=filters.action)
    if filters.project is not None:
        queryset = queryset.filter(project_id=filters.project.pk)
    if filters.channel:
        queryset = queryset.filter(channel=filters.channel)
    if filters.since is not None:
        queryset = queryset.filter(created_at__gte=filters.since)
    if filters.until is not None:
        queryset = queryset.filter(created_at__lt=filters.until)
    if filters.credential_id:
        queryset = queryset.filter(credential_id=filters.credential_id)
    return queryset.select_related("project").order_by("-created_at", "-id")
