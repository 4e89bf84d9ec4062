"""The fault battery: aelab's robustness contract, checked through the CLI as a user would meet it.

Every case runs ``scripts/train.py`` / ``scripts/evaluate.py`` as subprocesses in a fresh directory
(its own working directory, so a stray ``./outputs`` shows up), breaks something (kill -9, signals,
flipped bytes, a full disk, a bad override...) and checks what the user sees and what is left on
disk. The contract checked (abridged):

1. a run directory belongs to one run: fresh runs into occupied dirs, second processes on a live
   run, and a second/different sweep on a sweep dir are refused;
2. a refused input exits non-zero with ONE stderr line ``Error: ...`` (no traceback, no
   ``HYDRA_FULL_ERROR``/``object_type``) and creates/changes nothing (full listing compared:
   paths, sizes, mtimes, modes, content hashes);
3. the checkpoint is the source of truth: after any kill, ``resume=`` completes to one history
   record per epoch and test metrics bit-identical (CPU) to an uninterrupted run; ``resume=`` on a
   completed run is a no-op;
4. ``skip_done=true`` only skips the same run;
5. damaged checkpoints and MNIST files are refused with one line naming the file;
6. a joblib sweep survives a worker killed with -9;
7. bad overrides are refused fast, naming the key;
8. disk full, garbage metrics.json, malicious pickles, symlinked train.log, ``${oc.env:...}`` in a
   stored config, one permission mode for run files;
9. SIGINT/SIGTERM mark the run interrupted and resume bit-identically; Ctrl-C at start-up prints
   no traceback.

Where the contract leaves room, the battery reads it so:

* ``resume=/nonexistent/dir`` uses a nonexistent dir inside the case's directory (nothing under / is touched);
* a run killed before its first checkpoint holds if ``resume=`` completes it, or if ``resume=`` refuses
  in one line and a fresh run of the same config in that same dir completes (the dir is never stuck);
* a damaged best.pt of an interrupted run must make ``resume=`` refuse, even if training would overwrite it;
* disk full: exactly one stderr line says "no space left on device" and holds the run dir's absolute
  path, and no traceback appears in stdout or stderr;
* "changes nothing" compares directory mtimes too, and the case's cwd (a new ./outputs is a change);
* the identical sweep rerun without skip_done may be refused or exit 0, but no job's files change;
* results.csv rows are matched by their ``job`` column.

A fault lands where the case means it to: at a fail point (``AELAB_FAILPOINT``, :mod:`aelab.faults`:
``writing:<file>`` / ``wrote:<file>`` around every atomic write), or, for a signal or a kill from
outside, while the target process is stopped (SIGSTOP) after the test has seen it reach the state
it needs. A case whose target ended before it could be stopped runs again in a fresh directory; it
never passes or fails because a poll caught a window or missed it.

Resources: one torch thread per process, every subprocess in its own process group with a timeout
after which the group is killed, tmpfs mounts always unmounted, and every process the battery
started (tagged through an environment variable) gone when the session ends.
"""
