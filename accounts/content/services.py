"""Writes of projects and documents: each checks the principal's permission, validates, saves and audits
in one transaction."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from accounts.audit.models import AuditAction
from accounts.audit.record import audit_record
from accounts.content.models import Document, Project
from accounts.core.permissions import Permission
from accounts.core.principal import Principal
from accounts.core.services import Updated, validated_save


@transaction.atomic
def project_create(*, principal: Principal, name: str, slug: str = "", description: str = "") -> Project:
    principal.require(Permission.PROJECTS_WRITE)
    if principal.project_id is not None:
        raise PermissionDenied(_("This credential is restricted to one project."))
    project = Project(
        organization=principal.organization,
        name=name.strip(),
        slug=slug.strip() or slugify(name)[:50].strip("-"),
        description=description.strip(),
        created_by=principal.user,
    )
    _ensure_unique_project_slug(project)
    _save_project(project)
    audit_record(
        principal=principal, action=AuditAction.PROJECT_CREATED, target=project, data={"slug": project.slug}
    )
    return project


def _ensure_unique_project_slug(project: Project) -> None:
    if not project.slug:
        raise ValidationError({"slug": _("Enter a slug of letters, numbers, hyphens or underscores.")})
    clash = Project.objects.for_org(project.organization).filter(slug=project.slug).exclude(pk=project.pk)
    if clash.exists():
        raise _project_slug_taken(project.slug)


def _project_slug_taken(slug: str) -> ValidationError:
    # Name the slug: on create it may have been made from the name, not typed.
    return ValidationError(
        {"slug": _("Another project in this organization already uses the slug “%(slug)s”.") % {"slug": slug}}
    )


def _save_project(project: Project) -> None:
    # created_by is NULL once its user is gone (SET_NULL) and is not an edit's business.
    try:
        with transaction.atomic():  # a savepoint: the unique constraint decides a race the check lost
            validated_save(project, exclude=["created_by"])
    except IntegrityError:
        raise _project_slug_taken(project.slug) from None


@transaction.atomic
def project_update(
    *, principal: Principal, project: Project, name: str, slug: str, description: str
) -> Updated[Project]:
    """Edit a project; nothing is saved (or audited) when nothing changed."""
    principal.require(Permission.PROJECTS_WRITE)
    project = Project.objects.visible_to(principal).select_for_update().get(pk=project.pk)
    before = {"name": project.name, "slug": project.slug, "description": project.description}
    project.name, project.slug, project.description = name.strip(), slug.strip(), description.strip()
    after = {"name": project.name, "slug": project.slug, "description": project.description}
    changes = {k: [before[k], after[k]] for k in before if before[k] != after[k]}
    if not changes:
        return Updated(project, changed=False)  # saving anyway would move updated_at for nothing
    _ensure_unique_project_slug(project)
    _save_project(project)
    audit_record(principal=principal, action=AuditAction.PROJECT_UPDATED, target=project, data=changes)
    return Updated(project, changed=True)


@transaction.atomic
def project_set_archived(*, principal: Principal, project: Project, archived: bool) -> Project:
    principal.require(Permission.PROJECTS_WRITE)
    project = Project.objects.visible_to(principal).select_for_update().get(pk=project.pk)
    if project.is_archived == archived:
        return project
    project.archived_at = timezone.now() if archived else None
    project.save(update_fields=["archived_at", "updated_at"])
    action = AuditAction.PROJECT_ARCHIVED if archived else AuditAction.PROJECT_UNARCHIVED
    audit_record(principal=principal, action=action, target=project)
    return project


def _ensure_project_writable(project: Project) -> None:
    if project.is_archived:
        raise ValidationError(_("This project is archived. Unarchive it to change its documents."))


@transaction.atomic
def document_create(*, principal: Principal, project: Project, title: str, body: str = "") -> Document:
    principal.require(Permission.DOCUMENTS_WRITE)
    # Locked like document_update/delete do, so an archive committing meanwhile cannot be missed.
    project = Project.objects.visible_to(principal).select_for_update().get(pk=project.pk)
    _ensure_project_writable(project)
    now = timezone.now()
    document = Document(
        organization=principal.organization,
        project=project,
        title=title.strip(),
        body=body,
        created_by=principal.user,
        updated_by=principal.user,
        created_at=now,
        updated_at=now,
    )
    validated_save(document)
    audit_record(
        principal=principal,
        action=AuditAction.DOCUMENT_CREATED,
        target=document,
        project=project,
        data={"title": document.title, "length": len(body)},
    )
    return document


def _lock_document(principal: Principal, document: Document) -> Document:
    return (
        Document.objects.visible_to(principal)
        .select_for_update()
        .select_related("project")
        .get(pk=document.pk)
    )


@transaction.atomic
def document_update(*, principal: Principal, document: Document, title: str, body: str) -> Updated[Document]:
    """Edit a document; nothing is saved (or audited) when nothing changed."""
    principal.require(Permission.DOCUMENTS_WRITE)
    document = _lock_document(principal, document)
    _ensure_project_writable(document.project)
    changed = sorted(k for k, v in (("title", title.strip()), ("body", body)) if getattr(document, k) != v)
    if not changed:
        return Updated(document, changed=False)
    old_title = document.title
    document.title, document.body = title.strip(), body
    document.updated_by, document.updated_at = principal.user, timezone.now()
    validated_save(document, exclude=["created_by"])  # NULL once its user is gone (SET_NULL)
    data: dict[str, Any] = {"changed": changed, "length": len(body)}
    if "title" in changed:
        data["title"] = [old_title, document.title]
    audit_record(
        principal=principal,
        action=AuditAction.DOCUMENT_UPDATED,
        target=document,
        project=document.project,
        data=data,
    )
    return Updated(document, changed=True)


@transaction.atomic
def document_delete(*, principal: Principal, document: Document) -> None:
    principal.require(Permission.DOCUMENTS_WRITE)
    document = _lock_document(principal, document)
    _ensure_project_writable(document.project)
    audit_record(
        principal=principal,
        action=AuditAction.DOCUMENT_DELETED,
        target=document,
        project=document.project,
        data={"title": document.title, "length": len(document.body)},
    )
    document.delete()
