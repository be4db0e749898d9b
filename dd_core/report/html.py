"""HTML pieces of the one-file report: escaped tables, images as data URIs, Plotly figures without their script
(the page inlines plotly.js once, in its head), the page itself."""

from __future__ import annotations

import base64
import html

import plotly.graph_objects as go

PLOTLY_CONFIG = {"displaylogo": False, "responsive": True, "toImageButtonOptions": {"format": "png", "scale": 2}}

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2rem auto; max-width: 1180px;
       padding: 0 1.2rem; color: #1f2328; line-height: 1.45; }
h1 { margin-bottom: .2rem; } h2 { margin-top: 2.6rem; border-bottom: 1px solid #d0d7de; padding-bottom: .3rem; }
h3 { margin-top: 2rem; } .meta, .note { color: #57606a; } .warn { background: #fff8c5; border: 1px solid #d4a72c;
       padding: .5rem .8rem; border-radius: 6px; }
.status { font-size: .8rem; padding: .1rem .5rem; border-radius: 1rem; background: #ddf4ff; vertical-align: middle; }
.status.done { background: #dafbe1; } .status.failed { background: #ffebe9; }
.status.cancelled, .status.interrupted { background: #fff1e5; }
table { border-collapse: collapse; margin: .6rem 0 1rem; font-size: .92rem; }
th, td { border: 1px solid #d0d7de; padding: .3rem .6rem; text-align: left; vertical-align: top; }
th { background: #f6f8fa; } td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.pair { display: flex; gap: 1.2rem; flex-wrap: wrap; align-items: flex-start; }
figure { margin: .4rem 0; } figcaption { color: #57606a; font-size: .85rem; }
img.grid { image-rendering: pixelated; max-width: 100%; border: 1px solid #d0d7de; }
.swatch { display: inline-block; width: .8rem; height: .8rem; border-radius: 2px; margin-right: .35rem;
          vertical-align: baseline; }
"""


def esc(x: object) -> str:
    return html.escape("" if x is None else str(x))


def data_uri(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def image(
    data: bytes, mime: str, alt: str, caption: str | None = None, css: str = "grid", width: int | None = None
) -> str:
    """An inline image (a data URI: the file needs nothing else), with a caption; ``width``: shown that wide."""
    size = f' width="{int(width)}"' if width else ""
    tag = f'<img class="{css}" alt="{esc(alt)}"{size} src="{data_uri(data, mime)}">'
    return f"<figure>{tag}<figcaption>{esc(caption)}</figcaption></figure>" if caption else tag


def table(rows: list[dict], numeric: tuple[str, ...] = ()) -> str:
    """Rows with the same keys → an HTML table (every cell escaped; ``numeric`` columns right-aligned)."""
    if not rows:
        return ""
    cols = list(rows[0])
    head = "".join(f"<th>{esc(c)}</th>" for c in cols)
    body = "".join(
        "<tr>" + "".join(f"<td{' class=num' if c in numeric else ''}>{esc(r.get(c, ''))}</td>" for c in cols) + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def figure(fig: go.Figure) -> str:
    """A Plotly figure as a div and its drawing call; plotly.js itself is in the page's head, once."""
    return fig.to_html(full_html=False, include_plotlyjs=False, config=PLOTLY_CONFIG)


def page(title: str, body: str, plotly_js: bool) -> str:
    """The whole file: style and (when a chart is drawn) plotly.js inline, no external resource."""
    script = ""
    if plotly_js:
        from plotly.offline import get_plotlyjs

        script = f'<script type="text/javascript">{get_plotlyjs()}</script>'
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{esc(title)}</title>'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><style>{STYLE}</style>{script}'
        f"</head><body>{body}</body></html>\n"
    )
