"""aelab's Hydra launchers: sweeps that survive a dying job and stop on Ctrl-C.

* :class:`BasicLauncher` (Hydra's default, ``hydra/launcher=basic``): the jobs one after another in
  the sweep's own process;
* :class:`ProcessLauncher` (``hydra/launcher=joblib``): ``n_jobs`` at a time, each in its own process;
* :class:`SubmititLocalLauncher` / :class:`SubmititSlurmLauncher` (``hydra/launcher=submitit_local``
  / ``submitit_slurm``): each job a submitit job, on this machine or on a Slurm cluster.

With each, a job whose process dies or that is stopped from outside the sweep is recorded
``crashed`` and the others go on (:mod:`aelab.launchers.records`); SIGINT/SIGTERM stops the sweep
with exit 130 (:mod:`aelab.launchers.stop`); ``skip_done=true`` on the same command completes it.
Hydra instantiates a launcher only if its class is defined in the ``hydra_plugins`` namespace:
``hydra_plugins.aelab_launchers`` names these there.
"""

from hydra_plugins.hydra_submitit_launcher import submitit_launcher

from aelab.launchers.basic import BasicLauncher
from aelab.launchers.process import ProcessLauncher
from aelab.launchers.records import record_crash, record_unfinished
from aelab.launchers.slurm import SlurmJobs
from aelab.launchers.stop import SweepStopped
from aelab.launchers.submitit import SubmititJobs


class SubmititLocalLauncher(SubmititJobs, submitit_launcher.LocalLauncher):
    """Each job a local submitit job (a process of its own, started by submitit's controller)."""


class SubmititSlurmLauncher(SlurmJobs, submitit_launcher.SlurmLauncher):
    """Each job a Slurm job (an array of them, ``array_parallelism`` at a time)."""


__all__ = [
    "BasicLauncher",
    "ProcessLauncher",
    "SubmititLocalLauncher",
    "SubmititSlurmLauncher",
    "SweepStopped",
    "record_crash",
    "record_unfinished",
]
