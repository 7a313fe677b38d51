"""A hostile model: every text it controls tries to run script in the notebook.

Each payload sets ``window.__pwned`` when it runs; the browser tests check that the
probe stays unset while the widgets show the text.
"""

from typing import Any

from cog import BaseRunner, Input, Path

PAYLOAD = (
    "\"><img src=x onerror=\"window.__pwned='{}'\"><script>window.__pwned='{}'</script>"
)


def probe(where: str) -> str:
    return PAYLOAD.format(where, where)


SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40" '
    "onload=\"window.__pwned='svg'\">"
    "<script>window.__pwned='svg-script'</script>"
    '<rect width="40" height="40" fill="red"/></svg>'
)
HTML = "<html><body><script>window.__pwned='html-file'</script>hi</body></html>"


class Predictor(BaseRunner):
    def run(
        self,
        mode: str = Input(
            description=probe("input-description"),
            choices=["object", "text", "files", "fail", probe("choice")],
            default="object",
        ),
        note: str = Input(
            description="[link](javascript:window.__pwned='md-input')",
            default=probe("default"),
        ),
    ) -> Any:
        print(probe("log"))
        print("\x1b[31mred\x1b[0m " + probe("ansi-log"))
        # An OSC 8 hyperlink, as terminals print clickable links.
        print("\x1b]8;;javascript:window.__pwned='osc8'\x1b\\click me\x1b]8;;\x1b\\")
        print("\x1b]8;;https://example.com/docs\x1b\\docs\x1b]8;;\x1b\\")
        if mode == "fail":
            raise ValueError(probe("error"))
        if mode == "text":
            return probe("text") + "\u2028" + note
        if mode == "files":
            svg = Path(f"/tmp/{probe('name')[:40].replace('/', '_')}.svg")
            svg.write_text(SVG)
            page = Path("/tmp/hostile-page.html")
            page.write_text(HTML)
            return [svg, page]
        return {
            probe("key"): probe("value"),
            "nested": {"list": [probe("item"), 1, None]},
            "javascript:window.__pwned='url'": "javascript:window.__pwned='url-value'",
        }
