"""aelab's Hydra configs. This folder is shipped inside the package as ``aelab.conf`` (src/aelab/conf
links here), so the CLI finds it as ``pkg://aelab.conf`` from any directory."""
