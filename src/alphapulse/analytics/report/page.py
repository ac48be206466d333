"""The HTML shell: one file, plotly's JavaScript embedded once, no network."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from functools import lru_cache

import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

_CSS = (
    "body{font-family:system-ui,sans-serif;margin:1.5em auto;max-width:1200px;color:#222}"
    "h1{margin-bottom:.2em}h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.6em}"
    "table{border-collapse:collapse;margin:.6em 0;font-size:.9em}"
    "td,th{border:1px solid #ddd;padding:3px 9px;text-align:right}"
    "thead th,tbody th{background:#f4f4f4}tbody th{text-align:left;font-weight:normal}"
    "thead th{max-width:16em;overflow-wrap:anywhere}"
    ".note{color:#666;font-size:.9em}.chart{min-height:320px}"
)


@lru_cache(maxsize=1)
def _plotly_js() -> str:
    return get_plotlyjs()


@dataclass
class Page:
    """Sections of headings, HTML snippets and charts, rendered in order."""

    title: str
    parts: list[str] = field(default_factory=list)
    n_charts: int = 0

    def heading(self, text: str) -> None:
        self.parts.append(f"<h2>{html.escape(text)}</h2>")

    def html(self, snippet: str) -> None:
        self.parts.append(snippet)

    def note(self, text: str) -> None:
        self.parts.append(f"<p class='note'>{html.escape(text)}</p>")

    def chart(self, fig: go.Figure, height: int = 380) -> None:
        fig.update_layout(height=height, margin={"l": 50, "r": 20, "t": 40, "b": 40})
        div = fig.to_html(
            full_html=False,
            include_plotlyjs=False,
            div_id=f"chart-{self.n_charts}",
            config={"displaylogo": False, "responsive": True},
        )
        self.parts.append(f"<div class='chart'>{div}</div>")
        self.n_charts += 1

    def render(self) -> str:
        title = html.escape(self.title)
        return "\n".join(
            [
                "<!DOCTYPE html><html><head><meta charset='utf-8'>",
                f"<title>{title}</title><link rel='icon' href='data:,'><style>{_CSS}</style>",
                f"<script type='text/javascript'>{_plotly_js()}</script></head><body>",
                f"<h1>{title}</h1>",
                *self.parts,
                "</body></html>",
            ]
        )
