"""`{{ document.body|markdown }}`: sanitised HTML from untrusted markdown (see accounts/markdown.py)."""

from django import template
from django.utils.safestring import SafeString

from accounts.content.markdown import render_markdown

register = template.Library()


@register.filter(name="markdown")
def markdown_filter(text: str) -> SafeString:
    return render_markdown(text)
