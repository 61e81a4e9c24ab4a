"""Forms of the project and document pages."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.content.models import Document, Project


def _max_length(model: type[Project | Document], name: str) -> int | None:
    """The model field's max_length, so the form refuses what the service would."""
    return getattr(model._meta.get_field(name), "max_length", None)


class ProjectForm(forms.Form):
    """A new project; the services check that the slug is free in the organization."""

    name = forms.CharField(label=_("Name"), max_length=_max_length(Project, "name"))
    slug = forms.SlugField(
        label=_("Slug"),
        max_length=_max_length(Project, "slug"),
        required=False,
        help_text=_("Used in links to the project. Leave it blank to make one from the name."),
    )
    description = forms.CharField(
        label=_("Description"),
        max_length=_max_length(Project, "description"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "class": "short"}),
        help_text=_("What belongs in this project, for people and AI clients."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["name"].widget.attrs.update(autofocus=True)


class ProjectEditForm(ProjectForm):
    """An existing project: its slug is shown and required."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["name"].widget.attrs.pop("autofocus")
        self.fields["slug"].required = True
        self.fields["slug"].help_text = _(
            "Used in links to the project: letters, numbers, hyphens and underscores. "
            "Changing it breaks links people have saved."
        )


class DocumentForm(forms.Form):
    """A document's title and markdown body."""

    title = forms.CharField(label=_("Title"), max_length=_max_length(Document, "title"))
    body = forms.CharField(
        label=_("Body"),
        max_length=_max_length(Document, "body"),
        required=False,
        strip=False,  # leading spaces are markdown (an indented code block)
        widget=forms.Textarea(attrs={"rows": 20, "spellcheck": "true"}),
        help_text=_(
            "Markdown: # headings, - lists, **bold**, [links](https://example.com), tables and "
            "```code blocks```. HTML is shown as text."
        ),
    )

    def clean_body(self) -> str:
        # Browsers send CRLF; keep the stored text the same as the API and MCP write it.
        return str(self.cleaned_data["body"]).replace("\r\n", "\n")
