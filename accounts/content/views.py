"""Projects and their markdown documents: list, create, edit, archive, read and delete."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.generic import FormView, ListView, TemplateView

from accounts.content.forms import DocumentForm, ProjectEditForm, ProjectForm
from accounts.content.models import Document, Project
from accounts.content.selectors import document_get, document_list, project_get, project_list
from accounts.content.services import (
    document_create,
    document_delete,
    document_update,
    project_create,
    project_set_archived,
    project_update,
)
from accounts.core.permissions import Permission
from accounts.core.web import ServiceFormMixin, or_404
from accounts.orgs.mixins import OrgViewMixin

ARCHIVED_NOTICE = gettext_lazy(
    "This project is archived, so its documents are read-only. Unarchive it to change them."
)
SEARCH_MAX_LENGTH = 200


class ContentViewMixin(OrgViewMixin):
    """Shared by every page here: the sidebar section and links to projects and documents."""

    kwargs: dict[str, Any]

    def project_url(self, project: Project) -> str:
        return reverse("accounts:project_detail", args=[self.org.slug, project.slug])

    def document_url(self, document: Document) -> str:
        return reverse("accounts:document_detail", args=[self.org.slug, document.public_id])

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_context_data(nav_section="projects", **kwargs)


class ProjectMixin(ContentViewMixin):
    """The project named by the URL's slug; another organization's is the same 404 as a missing one."""

    @cached_property
    def project(self) -> Project:
        return or_404(project_get, principal=self.principal, slug=self.kwargs["project_slug"])

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        project = self.project
        return super().get_context_data(
            project=project,
            can_write_documents=self.principal.can(Permission.DOCUMENTS_WRITE) and not project.is_archived,
            **kwargs,
        )


class DocumentMixin(ContentViewMixin):
    """The document named by the URL's public id; another organization's is the same 404 as a missing one."""

    @cached_property
    def document(self) -> Document:
        return or_404(document_get, principal=self.principal, public_id=self.kwargs["document_id"])

    def refuse_if_archived(self) -> HttpResponse | None:
        """Archived projects are read-only: say so rather than show a form the service would refuse."""
        if self.document.project.is_archived:
            messages.warning(self.request, ARCHIVED_NOTICE)
            return redirect(self.document_url(self.document))
        return None

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        document = self.document
        return super().get_context_data(
            document=document,
            project=document.project,
            can_write_documents=(
                self.principal.can(Permission.DOCUMENTS_WRITE) and not document.project.is_archived
            ),
            **kwargs,
        )


# Projects


class ProjectListView(ContentViewMixin, TemplateView):
    """Active projects; archived ones on request (`?archived=1`)."""

    template_name = "accounts/content/project_list.html"
    permission = Permission.PROJECTS_READ

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        # One query for both lists: the archived count labels the toggle even when they are hidden.
        projects = list(project_list(principal=self.principal, include_archived=True))
        show_archived = self.request.GET.get("archived") == "1"
        archived = [p for p in projects if p.is_archived]
        return super().get_context_data(
            projects=[p for p in projects if not p.is_archived],
            archived_projects=archived if show_archived else [],
            archived_count=len(archived),
            show_archived=show_archived,
            **kwargs,
        )


class ProjectCreateView(ServiceFormMixin, ContentViewMixin, FormView):
    template_name = "accounts/content/project_form.html"
    form_class = ProjectForm
    permission = Permission.PROJECTS_WRITE

    def save(self, form: ProjectForm) -> HttpResponse:
        project = project_create(principal=self.principal, **form.cleaned_data)
        messages.success(self.request, _("Project “%(name)s” created.") % {"name": project.name})
        return redirect(self.project_url(project))


class ProjectUpdateView(ServiceFormMixin, ProjectMixin, FormView):
    template_name = "accounts/content/project_form.html"
    form_class = ProjectEditForm
    permission = Permission.PROJECTS_WRITE

    def get_initial(self) -> dict[str, Any]:
        project = self.project
        return {"name": project.name, "slug": project.slug, "description": project.description}

    def save(self, form: ProjectEditForm) -> HttpResponse:
        update = project_update(principal=self.principal, project=self.project, **form.cleaned_data)
        project = update.object
        if not update.changed:
            messages.info(self.request, _("Nothing changed."))
        else:
            messages.success(self.request, _("Project saved."))
        return redirect(self.project_url(project))


class ProjectArchiveView(ProjectMixin, View):
    """POST archived=true|false; archiving makes the project's documents read-only."""

    permission = Permission.PROJECTS_WRITE
    http_method_names = ["post"]

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        choice = request.POST.get("archived")
        if choice not in ("true", "false"):
            return HttpResponseBadRequest(_("Say whether to archive the project: archived=true or false."))
        project = project_set_archived(
            principal=self.principal, project=self.project, archived=choice == "true"
        )
        if project.is_archived:
            messages.success(
                request,
                _("Project “%(name)s” archived. Its documents are read-only until you unarchive it.")
                % {"name": project.name},
            )
        else:
            messages.success(request, _("Project “%(name)s” unarchived.") % {"name": project.name})
        return redirect(self.project_url(project))


class ProjectDetailView(ProjectMixin, ListView):
    """A project's documents, most recently updated first, searchable with `?q=`."""

    template_name = "accounts/content/project_detail.html"
    permission = Permission.PROJECTS_READ
    paginate_by = 50
    context_object_name = "documents"

    @cached_property
    def query(self) -> str:
        return self.request.GET.get("q", "").strip()[:SEARCH_MAX_LENGTH]

    def get_queryset(self) -> QuerySet[Document]:
        return document_list(principal=self.principal, project=self.project, query=self.query)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_context_data(q=self.query, **kwargs)


# Documents


class DocumentCreateView(ServiceFormMixin, ProjectMixin, FormView):
    template_name = "accounts/content/document_form.html"
    form_class = DocumentForm
    permission = Permission.DOCUMENTS_WRITE

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if self.project.is_archived:
            messages.warning(request, ARCHIVED_NOTICE)
            return redirect(self.project_url(self.project))
        return super().get(request, *args, **kwargs)

    def save(self, form: DocumentForm) -> HttpResponse:
        # An archive that lands after the form was shown is refused here, and the text stays in the form.
        document = document_create(principal=self.principal, project=self.project, **form.cleaned_data)
        messages.success(self.request, _("Document “%(title)s” created.") % {"title": document.title})
        return redirect(self.document_url(document))


class DocumentDetailView(DocumentMixin, TemplateView):
    template_name = "accounts/content/document_detail.html"
    permission = Permission.DOCUMENTS_READ


class DocumentUpdateView(ServiceFormMixin, DocumentMixin, FormView):
    template_name = "accounts/content/document_form.html"
    form_class = DocumentForm
    permission = Permission.DOCUMENTS_WRITE

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return self.refuse_if_archived() or super().get(request, *args, **kwargs)

    def get_initial(self) -> dict[str, Any]:
        return {"title": self.document.title, "body": self.document.body}

    def save(self, form: DocumentForm) -> HttpResponse:
        update = document_update(principal=self.principal, document=self.document, **form.cleaned_data)
        document = update.object
        if not update.changed:
            messages.info(self.request, _("Nothing changed."))
        else:
            messages.success(self.request, _("Document saved."))
        return redirect(self.document_url(document))


class DocumentDeleteView(DocumentMixin, TemplateView):
    """GET asks for confirmation; POST deletes and returns to the project."""

    template_name = "accounts/content/document_confirm_delete.html"
    permission = Permission.DOCUMENTS_WRITE

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return self.refuse_if_archived() or super().get(request, *args, **kwargs)

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        document = self.document
        try:
            document_delete(principal=self.principal, document=document)
        except ValidationError as error:
            for message in error.messages:
                messages.error(request, message)
            return redirect(self.document_url(document))
        messages.success(request, _("Document “%(title)s” deleted.") % {"title": document.title})
        return redirect(self.project_url(document.project))
