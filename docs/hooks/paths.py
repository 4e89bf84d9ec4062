"""Where the site build reads and writes, fixed relative to the repository, whatever directory
``mkdocs`` runs from:

* the tutorials' kernels read the dataset where training from the repository's top does
  (``$AELAB_DATA_DIR``, else ``<repo>/data``): they inherit this process's environment;
* mkdocs-jupyter caches each executed tutorial's rendering in ``<repo>/.cache/mkdocs-jupyter``
  (git-ignored), keyed by the tutorial's source: an unchanged tutorial is not executed again;
* ``--8<--`` includes (pymdownx.snippets) are paths inside docs/.
"""

from __future__ import annotations

import os
from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig


def on_config(config: MkDocsConfig) -> MkDocsConfig:
    docs = Path(config.docs_dir).resolve()
    repo = docs.parent
    os.environ.setdefault("AELAB_DATA_DIR", str(repo / "data"))
    jupyter = config.plugins.get("mkdocs-jupyter")
    if jupyter is not None:
        jupyter.config["cache_dir"] = str(repo / ".cache" / "mkdocs-jupyter")
    config.mdx_configs.setdefault("pymdownx.snippets", {})["base_path"] = [str(docs)]
    return config
