"""The sweep report: one multirun directory in, results.csv + report.md + report.html out.

    aelab-report outputs/multirun/2024-05-01/12-00-00

One job per module: :mod:`.collect` reads the sweep dir (and names the missing jobs) with
:mod:`.placement` (which dirs are its jobs, which are not part of it), :mod:`.jobs` (one job dir),
:mod:`.record` (a job's record: last.pt's truth over a metrics.json it does not name) and
:mod:`.identity` (is the run in a job dir the sweep's job?); :mod:`.table` writes results.csv,
:mod:`.gradflow` turns per-layer gradient norms into the first/last-layer ratio table,
:mod:`.plots` draws the figures, :mod:`.recon` the reconstruction grids, :mod:`.reproduce` the
commands; :mod:`.build` puts them together (rendered by :mod:`aelab.reports.render`) and
:mod:`.callback` runs it at the end of every Hydra multirun. Importing the package imports
none of them (Hydra loads the callback at every start).
"""
