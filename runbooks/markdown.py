"""A runbook's Markdown as safe HTML, and its numbered steps.

markdown-it-py renders CommonMark (tables and strikethrough on) with raw HTML
off, so ``<script>`` in a body arrives as text; nh3 (ammonia) then keeps only
the tags, attributes and URL schemes listed here, whatever the renderer let
through. Two locks, neither of them ours to get wrong.
"""

import nh3
from markdown_it import MarkdownIt
from markdown_it.token import Token

_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable(
    ["table", "strikethrough"]
)

ALLOWED_TAGS = {
    *("h1", "h2", "h3", "h4", "h5", "h6", "p", "br", "hr", "blockquote"),
    *("ul", "ol", "li", "pre", "code", "em", "strong", "del", "s", "a", "img"),
    *("table", "thead", "tbody", "tr", "th", "td"),
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "ol": {"start"},
    "code": {"class"},  # the fence's language, e.g. "language-sh"
    "th": {"align"},
    "td": {"align"},
}
URL_SCHEMES = {"http", "https", "mailto"}


def render_markdown(body: str) -> str:
    """``body`` as HTML that is safe to put in a page as is.

    Links get ``rel="noopener noreferrer"``; only http, https and mailto
    URLs (and relative ones) survive; no script, style or event handler does.
    """
    html = _markdown.render(body)
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer",
        strip_comments=True,
    )


def _plain(inline: Token) -> str:
    # The words of a step without its markup: `nginx` reads as nginx.
    parts = []
    for child in inline.children or []:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
    return " ".join("".join(parts).split())


def checklist_steps(body: str) -> list[str]:
    """The items of the body's top-level numbered lists, in order, as plain text (an item's first paragraph)."""
    steps = []
    list_depth = 0  # lists of any kind currently open
    in_top_ordered = False
    awaiting_text = False
    for token in _markdown.parse(body):
        if token.type in ("ordered_list_open", "bullet_list_open"):
            if list_depth == 0 and token.type == "ordered_list_open":
                in_top_ordered = True
            list_depth += 1
        elif token.type in ("ordered_list_close", "bullet_list_close"):
            list_depth -= 1
            if list_depth == 0:
                in_top_ordered = False
        elif token.type == "list_item_open" and in_top_ordered and list_depth == 1:
            awaiting_text = True
            steps.append("")
        elif token.type == "inline" and awaiting_text:
            steps[-1] = _plain(token)
            awaiting_text = False
    return [step for step in steps if step]
