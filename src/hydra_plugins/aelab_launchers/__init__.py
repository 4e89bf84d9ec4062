"""aelab's launchers where Hydra looks for plugins: Hydra instantiates a launcher only if its class is
defined in the ``hydra_plugins`` namespace. The code is :mod:`aelab.launchers`; these are its names here."""

from aelab import launchers


class BasicLauncher(launchers.BasicLauncher):
    __doc__ = launchers.BasicLauncher.__doc__


class ProcessLauncher(launchers.ProcessLauncher):
    __doc__ = launchers.ProcessLauncher.__doc__


class SubmititLocalLauncher(launchers.SubmititLocalLauncher):
    __doc__ = launchers.SubmititLocalLauncher.__doc__


class SubmititSlurmLauncher(launchers.SubmititSlurmLauncher):
    __doc__ = launchers.SubmititSlurmLauncher.__doc__


__all__ = ["BasicLauncher", "ProcessLauncher", "SubmititLocalLauncher", "SubmititSlurmLauncher"]
