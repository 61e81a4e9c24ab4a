"""URLs of the audit log and its exports; included in the `accounts` namespace (accounts/urls.py)."""

from django.urls import path

from accounts.audit import views as audit

urlpatterns = [
    path("orgs/<slug:org_slug>/audit/", audit.AuditLogView.as_view(), name="audit"),
    path("orgs/<slug:org_slug>/audit/export.<str:fmt>", audit.AuditExportView.as_view(), name="audit_export"),
]
