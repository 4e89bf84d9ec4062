"""aelab's launchers where Hydra looks for plugins: Hydra instantiates a launcher only if its class is
defined in the ``hydra_plugins`` namespace. The code is :mod:`aelab.launchers`; these are its names here.

``hydra/launcher=basic`` (Hydra's default launcher) is aelab's :class:`BasicLauncher`, whose sweep
stops on Ctrl-C: Hydra imports this module after its own plugins, so this ConfigStore entry replaces
Hydra's ``basic`` (a yaml of the same name would be validated against Hydra's and warn at every run).
"""

from hydra.core.config_store import ConfigStore

from aelab import launchers


class BasicLauncher(launchers.BasicLauncher):
    __doc__ = launchers.BasicLauncher.__doc__


class ProcessLauncher(launchers.ProcessLauncher):
    __doc__ = launchers.ProcessLauncher.__doc__


class SubmititLocalLauncher(launchers.SubmititLocalLauncher):
    __doc__ = launchers.SubmititLocalLauncher.__doc__


class SubmititSlurmLauncher(launchers.SubmititSlurmLauncher):
    __doc__ = launchers.SubmititSlurmLauncher.__doc__


ConfigStore.instance().store(
    group="hydra/launcher", name="basic", node={"_target_": f"{__name__}.BasicLauncher"}, provider="aelab"
)

__all__ = ["BasicLauncher", "ProcessLauncher", "SubmititLocalLauncher", "SubmititSlurmLauncher"]
