"""Reading the report's HTML in tests: its elements and attributes, as written or as a browser left them."""

from __future__ import annotations

from html.parser import HTMLParser

PARTIES = ["russia", "united-states", "china", "india", "western-delegations", "g20"]
MEETING = "blinken-lavrov-held-real-meeting"


class Elements(HTMLParser):
    """Every start tag with its attributes, in document order."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str]]] = []
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, {k: v or "" for k, v in attrs}))

    def having(self, css_class: str, tag: str | None = None) -> list[dict[str, str]]:
        return [
            attrs
            for name, attrs in self.found
            if css_class in attrs.get("class", "").split() and (tag is None or name == tag)
        ]
