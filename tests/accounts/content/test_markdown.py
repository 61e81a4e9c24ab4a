"""Markdown rendering: what a document may show, and what it must never run."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from django.template import Context, Template
from django.utils.safestring import SafeString

from accounts.content.markdown import ALLOWED_TAGS, render_markdown

RICH = """# Title

Some **bold**, *italic*, ~~struck~~ and `code`.

## List

- one
- two

1. first
2. second

```python
print("<b>hi</b>")
```

| Left | Centre | Right |
|:-----|:------:|------:|
| a    | b      | c     |

> quoted

[a link](https://example.com/docs "Docs") and [relative](/orgs/acme/projects/)
and [mail](mailto:a@example.com)
"""

XSS_PAYLOADS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=https://evil.example/x.js></SCRIPT>",
    '<img src="x" onerror="alert(1)">',
    '<a href="https://example.com" onclick="alert(1)">x</a>',
    '<div style="background:url(javascript:alert(1))">x</div>',
    "<iframe src=https://evil.example></iframe>",
    '<svg onload="alert(1)"></svg>',
    "<style>body{display:none}</style>",
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](  javascript:alert(1))",
    "[click](java\tscript:alert(1))",
    "[click](&#106;avascript:alert(1))",
    "[click](vbscript:msgbox(1))",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![pixel](data:image/png;base64,iVBORw0KGgo=)",
    "![pixel](javascript:alert(1))",
    "<javascript:alert(1)>",
    "[ref][x]\n\n[x]: javascript:alert(1)",
    '[x](https://example.com "a\\" onmouseover=\\"alert(1)")',
    "<!-- <script>alert(1)</script> -->",
    "`<script>alert(1)</script>`",
]


class _Elements(HTMLParser):
    """The elements a browser would build from the HTML; text that merely looks like a tag is text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, {name: value or "" for name, value in attrs}))

    def handle_comment(self, data: str) -> None:
        self.elements.append(("!--", {}))


def elements_of(html: str) -> list[tuple[str, dict[str, str]]]:
    parser = _Elements()
    parser.feed(html)
    parser.close()
    return parser.elements


def test_render_markdown_returns_safe_string() -> None:
    assert isinstance(render_markdown("hi"), SafeString)
    assert render_markdown("") == ""


def test_rich_markdown_renders_headings_lists_code_tables_and_links() -> None:
    html = render_markdown(RICH)
    # Headings move down one level: the page's <h1> is the document title.
    assert "<h2>Title</h2>" in html
    assert "<h3>List</h3>" in html
    assert "<strong>bold</strong>" in html
    assert "<em>italic</em>" in html
    assert "<s>struck</s>" in html
    assert "<code>code</code>" in html
    assert "<ul>" in html
    assert "<ol>" in html
    assert "<li>one</li>" in html
    # Code is escaped text, never markup.
    assert '<pre><code>print("&lt;b&gt;hi&lt;/b&gt;")' in html
    assert "<table>" in html
    assert '<th class="align-left">Left</th>' in html
    assert '<th class="align-center">Centre</th>' in html
    assert '<td class="align-right">c</td>' in html
    assert "<blockquote>" in html
    assert (
        '<a href="https://example.com/docs" title="Docs" rel="noopener noreferrer nofollow">a link</a>'
        in html
    )
    assert '<a href="/orgs/acme/projects/" rel="noopener noreferrer nofollow">relative</a>' in html
    assert 'href="mailto:a@example.com"' in html


def test_heading_levels_stop_at_h6() -> None:
    assert render_markdown("###### six").strip() == "<h6>six</h6>"


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_xss_payloads_render_inert(payload: str) -> None:
    html = render_markdown(payload)
    for tag, attrs in elements_of(html):
        assert tag in ALLOWED_TAGS, html
        assert set(attrs) <= {"href", "title", "rel", "class", "start"}, html
        assert not any(name.startswith("on") for name in attrs), html
        if "href" in attrs:
            assert re.match(r"^(https?:|mailto:|/|#)", attrs["href"].strip().lower()), html


def test_raw_html_is_shown_as_text_not_markup() -> None:
    html = render_markdown('Hello <b onclick="x()">world</b>')
    assert html.strip() == '<p>Hello &lt;b onclick="x()"&gt;world&lt;/b&gt;</p>'
    assert elements_of(html) == [("p", {})]


def test_javascript_link_is_left_as_plain_text() -> None:
    html = render_markdown("[click](javascript:alert(1))")
    assert "<a" not in html
    assert "[click](javascript:alert(1))" in html


def test_images_become_links_and_are_never_loaded() -> None:
    html = render_markdown('![The *chart*](https://example.com/chart.png "Chart")')
    assert "<img" not in html
    assert '<a href="https://example.com/chart.png" rel="noopener noreferrer nofollow">The chart</a>' in html
    # A data: image has no URL worth keeping: the alt text stays, the link does not.
    data = render_markdown("![pixel](data:image/png;base64,iVBORw0KGgo=)")
    assert "data:" not in data
    assert "pixel" in data


def test_template_filter_renders_sanitised_markdown() -> None:
    template = Template("{% load markdown %}{{ body|markdown }}")
    html = template.render(Context({"body": "# Hi\n\n<script>x</script>"}))
    assert "<h2>Hi</h2>" in html
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
