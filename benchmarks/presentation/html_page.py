"""report.html: the markdown report as one self-contained page, figures embedded, readable offline."""

from __future__ import annotations

import base64
import html
import re
from pathlib import Path

import markdown

from benchmarks.model.files import atomic_write_text

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body {{ font-family: system-ui, -apple-system, "Segoe UI", sans-serif; max-width: 1200px; margin: 2rem auto;
       padding: 0 1rem; color: #1f2328; line-height: 1.5; }}
h1 {{ font-size: 1.6rem; border-bottom: 1px solid #d0d7de; padding-bottom: .3rem; }}
h2 {{ font-size: 1.25rem; margin-top: 2rem; border-bottom: 1px solid #d0d7de; padding-bottom: .2rem; }}
table {{ border-collapse: collapse; margin: 1rem 0; font-size: .9rem; font-variant-numeric: tabular-nums; }}
th, td {{ border: 1px solid #d0d7de; padding: .3rem .6rem; }}
th {{ background: #f6f8fa; }}
tr:nth-child(even) td {{ background: #fbfcfd; }}
code {{ background: #eff1f3; padding: .1rem .3rem; border-radius: 4px; font-size: .85em; }}
img {{ max-width: 100%; height: auto; display: block; margin: 1rem 0; }}
footer {{ margin-top: 3rem; color: #656d76; font-size: .8rem; }}
</style>
</head>
<body>
{body}
<footer>Made by backprop-bench from <code>{source}</code>; self-contained: the figures are embedded.</footer>
<script>
// lets a test, or a reader's console, check that every figure decoded
window.addEventListener("load", () => {{
  const figures = [...document.images];
  document.body.dataset.figures = figures.length;
  document.body.dataset.figuresLoaded = figures.filter((img) => img.complete && img.naturalWidth > 0).length;
}});
</script>
</body>
</html>
"""


def html_page(text: str, title: str, figures_dir: Path, source: str) -> str:
    """Markdown as one self-contained page: the PNG figures it names, read from figures_dir, embedded."""
    body = markdown.markdown(text, extensions=["tables"])

    def embed(match: re.Match) -> str:
        figure = figures_dir / html.unescape(match.group(1))
        return f'src="data:image/png;base64,{base64.b64encode(figure.read_bytes()).decode()}"'

    body = re.sub(r'src="([^"]+\.png)"', embed, body)
    return PAGE.format(title=html.escape(title), body=body, source=html.escape(source))


def write_html(markdown_path: Path, text: str, title: str) -> Path:
    """report.html beside report.md: the same content in one file, figures embedded, readable offline."""
    return atomic_write_text(
        markdown_path.with_suffix(".html"), html_page(text, title, markdown_path.parent, markdown_path.name)
    )
