"""Markdown to safe HTML: documents are written by people *and* AI clients, so treat every body as hostile.

Two layers. markdown-it-py parses CommonMark (plus tables and strikethrough) with raw HTML turned off,
so `<script>` in a body is shown as text, and it refuses `javascript:`-style links. nh3 then cleans
the HTML against a short allow-list of tags and attributes, whatever the parser let through: no
inline styles, no event handlers, only http(s)/mailto and relative URLs, and every link gets
`rel="noopener noreferrer nofollow"`.

Two choices on top, both for the page the body is shown in:
- Headings move down one level (`#` becomes `<h2>`), because the page's `<h1>` is the document title.
- Images are shown as links, never loaded: a document must not make a reader's browser call a
  server of the author's choosing (read receipts, IP addresses, data smuggled out in a URL).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import nh3
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.rules_core import StateCore
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict

ALLOWED_TAGS = {
    "h2", "h3", "h4", "h5", "h6", "p", "br", "hr", "blockquote", "pre", "code",
    "strong", "em", "s", "ul", "ol", "li", "a", "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}}
ALIGN_CLASSES = {"align-left", "align-center", "align-right"}
URL_SCHEMES = {"http", "https", "mailto"}
LINK_REL = "noopener noreferrer nofollow"

_cleaner = nh3.Cleaner(
    tags=ALLOWED_TAGS,
    clean_content_tags={"script", "style"},
    attributes=ALLOWED_ATTRIBUTES,
    allowed_classes={"th": ALIGN_CLASSES, "td": ALIGN_CLASSES},
    url_schemes=URL_SCHEMES,
    link_rel=LINK_REL,
    strip_comments=True,
)


def _demote_headings(state: StateCore) -> None:
    for token in state.tokens:
        if token.type in ("heading_open", "heading_close"):
            token.tag = f"h{min(int(token.tag[1]) + 1, 6)}"


def _alignment_as_class(state: StateCore) -> None:
    # markdown-it aligns table cells with style="text-align:..."; a class keeps styles out of the HTML.
    for token in state.tokens:
        if token.type in ("th_open", "td_open") and (style := token.attrGet("style")):
            token.attrs.pop("style")
            token.attrSet("class", "align-" + str(style).removeprefix("text-align:"))


def _image_as_link(self: Any, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
    token = tokens[idx]
    src = str(token.attrGet("src") or "")
    label = self.renderInlineAsText(token.children or [], options, env) or src
    return f'<a href="{escapeHtml(src)}">{escapeHtml(label)}</a>'


def _build_parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])
    md.core.ruler.push("demote_headings", _demote_headings)
    md.core.ruler.push("alignment_as_class", _alignment_as_class)
    md.add_render_rule("image", _image_as_link)
    return md


_parser = _build_parser()


def render_markdown(text: str) -> SafeString:
    """Render untrusted markdown to sanitised HTML that is safe to put in a page."""
    html = _parser.render(text or "")
    return mark_safe(_cleaner.clean(html))  # nh3 has just sanitised it
