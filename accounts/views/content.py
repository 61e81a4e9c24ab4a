"""Placeholder: implemented in this issue's next step."""

from django.views.generic import TemplateView


class _Todo(TemplateView):
    template_name = "base.html"


class ProjectListView(_Todo):
    pass


class ProjectCreateView(_Todo):
    pass


class ProjectDetailView(_Todo):
    pass


class ProjectUpdateView(_Todo):
    pass


class ProjectArchiveView(_Todo):
    pass


class DocumentCreateView(_Todo):
    pass


class DocumentDetailView(_Todo):
    pass


class DocumentUpdateView(_Todo):
    pass


class DocumentDeleteView(_Todo):
    pass
