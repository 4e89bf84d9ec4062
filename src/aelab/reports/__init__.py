"""Reports: what a sweep or the results table says, as Markdown and self-contained HTML.

* :mod:`.render` — one renderer (sections of paragraphs, tables, images, code) for every report;
* :mod:`.sweep` — a multirun directory in, results.csv + report.md + report.html out;
* :mod:`.results` — the results table against Hinton & Salakhutdinov (2006).
"""
