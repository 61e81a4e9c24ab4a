"""Placeholder: implemented in this issue's next step."""

from django.views.generic import TemplateView


class _Todo(TemplateView):
    template_name = "base.html"


class AuditLogView(_Todo):
    pass


class AuditExportView(_Todo):
    pass
