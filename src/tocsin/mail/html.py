"""HTML as the recipient's mail client would see it, parsed as data.

We use selectolax's Lexbor engine: an HTML5-conformant parser (the same tree-building rules
browsers follow, so markup an attacker malforms on purpose parses the way the victim's client
parses it), in C, about nine times faster than ``html.parser`` on the sample corpus. Nothing is
fetched, no script runs, no CSS is applied beyond reading sizes and visibility from
``style`` attributes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from selectolax.lexbor import LexborHTMLParser, LexborNode

MAX_HTML = 2 << 20  # characters parsed per HTML part
MAX_ELEMENTS = 2000  # links/images/forms read per part
MAX_SCRIPT = 200_000

_CSS_URL = re.compile(r"""url\(\s*['"]?([^'")\s]{4,2048})['"]?\s*\)""", re.IGNORECASE)
_HIDDEN = re.compile(
    r"display\s*:\s*none|visibility\s*:\s*hidden|opacity\s*:\s*0(?:\.0+)?\s*(?:;|$|!)"
    r"|(?:^|[;\s])(?:max-)?(?:height|width)\s*:\s*0(?:px)?\s*(?:;|$|!)",
    re.IGNORECASE,
)
_CSS_SIZE = re.compile(r"(?:^|[;\s])(?:max-)?(width|height)\s*:\s*(\d+(?:\.\d+)?)\s*(px)?", re.I)
_NUMBER = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(px)?\s*$", re.IGNORECASE)
_REFRESH_URL = re.compile(r"url\s*=\s*['\"]?([^'\"]+)", re.IGNORECASE)
_WS = re.compile(r"\s+")


@dataclass(slots=True)
class Link:
    href: str
    text: str  # visible anchor text, collapsed
    tag: str = "a"
    image: bool = False  # the anchor is a picture (a banner or button drawn as an image)


@dataclass(slots=True)
class Image:
    src: str
    width: float | None
    height: float | None
    hidden: bool
    tag: str = "img"  # "img", or "css" for background images


@dataclass(slots=True)
class Form:
    action: str
    method: str
    has_password: bool
    inputs: int


@dataclass(slots=True)
class HtmlContent:
    links: list[Link] = field(default_factory=list)
    images: list[Image] = field(default_factory=list)
    forms: list[Form] = field(default_factory=list)
    scripts: list[str] = field(default_factory=list)
    refresh: list[str] = field(default_factory=list)  # <meta http-equiv=refresh> targets
    frames: list[str] = field(default_factory=list)
    text: str = ""
    hidden_text: int = 0  # characters of text in hidden elements


def _attr(node: LexborNode, name: str) -> str:
    value = node.attrs.get(name)  # attrs reads one attribute; attributes builds a dict
    return value.strip() if isinstance(value, str) else ""


def _size(value: str) -> float | None:
    match = _NUMBER.match(value) if value else None
    return float(match.group(1)) if match else None


def _hidden(node: LexborNode, levels: int = 3) -> bool:
    current: LexborNode | None = node
    for _ in range(levels + 1):
        if current is None or not current.is_element_node:
            return False  # up to the document: nothing hides it
        attrs = current.attrs
        if attrs.get("hidden", False) is not False:
            return True
        style = attrs.get("style")
        if style and _HIDDEN.search(style):
            return True
        current = current.parent
    return False


def parse_html(html: str) -> HtmlContent:
    """Links, images, forms, scripts, redirects and visible text of one HTML document."""
    content = HtmlContent()
    tree = LexborHTMLParser(html[:MAX_HTML])
    for node in tree.css("a[href], area[href]")[:MAX_ELEMENTS]:
        text = _WS.sub(" ", node.text(deep=True, separator=" ", strip=True))[:300]
        image = not text and node.css_first("img") is not None
        content.links.append(Link(_attr(node, "href"), text, node.tag or "a", image))
    for node in tree.css("img")[:MAX_ELEMENTS]:
        src = _attr(node, "src") or _attr(node, "data-src")
        if not src:
            continue
        width, height = _size(_attr(node, "width")), _size(_attr(node, "height"))
        style = _attr(node, "style")
        if style:
            for prop, number, _ in _CSS_SIZE.findall(style):
                if prop.lower() == "width" and width is None:
                    width = float(number)
                elif prop.lower() == "height" and height is None:
                    height = float(number)
        remote = src[:8].lower().startswith(("http:", "https:", "//"))
        content.images.append(Image(src, width, height, remote and _hidden(node)))
    for node in tree.css("[style*=url], [background]")[:MAX_ELEMENTS]:
        for url in [*_CSS_URL.findall(_attr(node, "style")), _attr(node, "background")]:
            if url:
                content.images.append(Image(url, None, None, False, "css"))
    for node in tree.css("style")[:20]:
        for url in _CSS_URL.findall(node.text(deep=True) or "")[:50]:
            content.images.append(Image(url, None, None, False, "css"))
    for node in tree.css("form")[:50]:
        inputs = node.css("input, textarea, select")
        has_password = any(_attr(i, "type").lower() == "password" for i in inputs)
        content.forms.append(
            Form(_attr(node, "action"), _attr(node, "method").lower(), has_password, len(inputs))
        )
    if not content.forms:
        # Inputs outside any form still collect what is typed (script posts them).
        loose = tree.css("input[type=password]")
        if loose:
            content.forms.append(Form("", "", True, len(loose)))
    for node in tree.css("meta[http-equiv]"):
        if _attr(node, "http-equiv").lower() == "refresh":
            found = _REFRESH_URL.search(_attr(node, "content"))
            if found:
                content.refresh.append(found.group(1).strip())
    for node in tree.css("iframe[src], frame[src], embed[src], object[data]")[:50]:
        content.frames.append(_attr(node, "src") or _attr(node, "data"))
    total = 0
    for node in tree.css("script")[:50]:
        script = (node.text(deep=True) or "")[:MAX_SCRIPT]
        total += len(script)
        if total > MAX_SCRIPT * 5:
            break
        content.scripts.append(script)
    for node in tree.css("[style*=none], [style*=hidden], [hidden]")[:200]:
        if _hidden(node, 0):
            content.hidden_text += len(node.text(deep=True, strip=True) or "")
    tree.strip_tags(["script", "style", "noscript", "head", "title"])
    root = tree.body or tree.root
    text = root.text(deep=True, separator=" ", strip=True) if root is not None else ""
    content.text = _WS.sub(" ", text)
    return content
