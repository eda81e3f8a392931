"""A self-contained HTML report (images referenced by relative path, commands, metric tables)."""
from __future__ import annotations

import html
import json
import time
from pathlib import Path

from .. import __version__
from ..io.atomic import atomic_write_text

CSS = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222}
figure{display:inline-block;margin:.5em;vertical-align:top;max-width:520px}
figure img{max-width:100%;image-rendering:pixelated;border:1px solid #ccc}
figcaption{font-size:.9em;color:#444}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .8em;text-align:left}
code{background:#f4f4f4;padding:.1em .3em;display:block;white-space:pre-wrap;margin:.2em 0}"""


class Report:
    def __init__(self, folder: Path, title: str):
        self.folder, self.title = folder, title
        self.path = folder / "report.html"
        self.parts: list[str] = []
        self.commands: list[tuple[str, str, str]] = []
        self.notes: list[str] = []
        self.user_inputs: dict[str, str] = {}  # what the full-size recipe reads that none of its lines writes

    def note(self, text: str) -> None:
        """A warning or remark shown at the end of the report."""
        if text not in self.notes:
            self.notes.append(text)

    def paragraph(self, text: str) -> None:
        """A line of explanation in place, under the previous section."""
        self.parts.append(f"<p>{html.escape(text)}</p>")

    def section(self, heading: str, figures: list[tuple[str, str]]) -> None:
        figs = "".join(f'<figure><img src="{html.escape(src)}" alt="{html.escape(cap)}">'
                       f"<figcaption>{html.escape(cap)}</figcaption></figure>" for src, cap in figures)
        self.parts.append(f"<h2>{html.escape(heading)}</h2>{figs}")

    def metrics(self, heading: str, values: dict) -> None:
        if "unavailable" in values:
            body = f"<p>metrics unavailable: {html.escape(values['unavailable'])}</p>"
        else:
            rows = "".join(f"<tr><td>{html.escape(k)}</td><td>{_fmt(v)}</td></tr>"
                           for k, v in values.items() if k != "protocol")
            proto = html.escape(json.dumps(values.get("protocol", {}), indent=1))
            body = f"<table><tr><th>metric</th><th>value</th></tr>{rows}</table>" \
                   f"<details><summary>protocol</summary><pre>{proto}</pre></details>"
        self.parts.append(f"<h2>{html.escape(heading)}</h2>{body}")

    def table(self, heading: str, columns: list[str], rows: list[list], note: str = "") -> None:
        head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
        body = "".join("<tr>" + "".join(f"<td>{_fmt(v)}</td>" for v in row) + "</tr>" for row in rows)
        extra = f"<p>{html.escape(note)}</p>" if note else ""
        self.parts.append(f"<h2>{html.escape(heading)}</h2><table><tr>{head}</tr>{body}</table>{extra}")

    def command(self, stage: str, here: str, full_size: str) -> None:
        self.commands.append((stage, here, full_size))

    def finish(self, seconds: float) -> None:
        cmds = "".join(f"<h3>{html.escape(s)}</h3><p>as run here:</p><code>{html.escape(a)}</code>"
                       f"<p>full size on GPUs:</p><code>{html.escape(b)}</code>" for s, a, b in self.commands)
        if self.user_inputs:
            items = "".join(f"<li><b>{html.escape(k)}</b>: {html.escape(v)}</li>" for k, v in self.user_inputs.items())
            cmds = ("<p>The full-size lines run top to bottom: each reads what an earlier one wrote, or one of "
                    f"these inputs of yours:</p><ul>{items}</ul>") + cmds
        notes = ("<h2>Warnings during the run</h2><ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in self.notes)
                 + "</ul>") if self.notes else ""
        page = (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(self.title)}</title>"
                f"<style>{CSS}</style></head><body><h1>{html.escape(self.title)}</h1>"
                f"<p>gandistill {__version__}, {time.strftime('%Y-%m-%d %H:%M')}, {seconds / 60:.1f} minutes.</p>"
                + "".join(self.parts) + notes + f"<h2>Reproduce</h2>{cmds}</body></html>")
        atomic_write_text(self.path, page)


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, dict):
        return html.escape(", ".join(f"{k}: {_fmt(x)}" for k, x in v.items()))
    return html.escape(str(v))
