"""A real one-node Slurm cluster on this machine, for the slow tests of `mmmult eval --slurm` (tests/test_slurm.py).

Debian's packages (`apt-get install slurmctld slurmd slurm-client munge`; .ci/run installs them) run as root
without systemd or cgroups when everything is the test's own, under one temporary folder:

- one folder of its own under the system's temporary folder, mode 0755;
- munge: a fresh key (1024 random bytes, mode 0400) and `munged` run in the foreground as the `munge` user, its
  socket, pid, seed and log files in a folder of the munge user's, mode 0755 (munged refuses a key or folder
  others could write, and a socket whose folder not everyone may enter);
- slurm.conf naming this host (`hostname -s`) as controller and only node, with ports found free now,
  `ProctrackType=proctrack/linuxproc` and `TaskPlugin=task/none` (no cgroups), `SelectType=select/cons_tres`,
  no accounting, `SlurmdParameters=config_overrides` (the node's CPUs as declared, so three shards run at once
  on two cores), `AuthInfo=socket=...` (slurm's munge client finds the test's munged);
- `slurmctld -D` and `slurmd -D` in the foreground, their state, spool and logs in the folder. Every Slurm command
  finds the configuration through SLURM_CONF, which the fixture sets for the test and its subprocesses.

Torn down after: the jobs cancelled, then the daemons ended by their process ids, and the folder removed.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

DAEMONS = ("slurmctld", "slurmd", "munged", "sbatch", "squeue", "scontrol", "scancel")
NODE_CPUS = 4


def missing() -> str | None:
    """Why a cluster cannot be started here, or None."""
    if os.geteuid() != 0:
        return "starts slurmctld, slurmd and munged, which needs root"
    absent = [name for name in DAEMONS if shutil.which(name) is None and not Path("/usr/sbin", name).exists()]
    if absent:
        return f"{', '.join(absent)} not installed (apt-get install slurmctld slurmd slurm-client munge)"
    return None


def free_ports(count: int) -> list[int]:
    """Ports no process listens on now (the kernel's choice of free ones)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def binary(name: str) -> str:
    return shutil.which(name) or str(Path("/usr/sbin", name))


class Cluster:
    """slurmctld, slurmd and munged of one temporary folder; `env` is what a Slurm command needs to reach them."""

    def __init__(self) -> None:
        # Its own folder under the system's temporary one: munged (the munge user) must be able to enter every
        # folder above its socket, which pytest's temporary folders (mode 0700) do not let it.
        self.root = Path(tempfile.mkdtemp(prefix="mmmult-slurm-"))
        self.root.chmod(0o755)
        self.host = socket.gethostname().split(".")[0]
        self.conf = self.root / "slurm.conf"
        self.env = {**os.environ, "SLURM_CONF": str(self.conf)}
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self) -> Cluster:
        socket_path = self._start_munge()
        self._write_conf(socket_path)
        for name, log in (("slurmctld", "slurmctld.out"), ("slurmd", "slurmd.out")):
            with (self.root / log).open("wb") as out:
                command = [binary(name), "-D"] + (["-i"] if name == "slurmctld" else [])
                self.processes.append(subprocess.Popen(command, env=self.env, stdout=out, stderr=subprocess.STDOUT))
        self._wait_for_idle_node()
        return self

    def _start_munge(self) -> Path:
        """munged of the test, run as the munge user on a key of the test; returns its socket."""
        munge = self.root / "munge"
        munge.mkdir()
        munge.chmod(0o755)  # munged needs its socket's folder open to all (x), and writable by no one else
        key = munge / "munge.key"
        key.write_bytes(os.urandom(1024))
        key.chmod(0o400)
        user = pwd.getpwnam("munge")
        os.chown(munge, user.pw_uid, user.pw_gid)
        os.chown(key, user.pw_uid, user.pw_gid)
        socket_path = munge / "munge.socket"
        command = [binary("munged"), "-F", "--key-file", str(key), "--socket", str(socket_path)]
        command += ["--pid-file", str(munge / "munged.pid"), "--seed-file", str(munge / "munged.seed")]
        command += ["--log-file", str(munge / "munged.log")]
        with (self.root / "munged.out").open("wb") as out:
            self.processes.append(subprocess.Popen(command, user="munge", stdout=out, stderr=subprocess.STDOUT))
        self._until(socket_path.exists, "munged's socket", self.root / "munged.out")
        return socket_path

    def _write_conf(self, munge_socket: Path) -> None:
        controller_port, node_port = free_ports(2)
        for folder in ("state", "spool", "logs"):
            (self.root / folder).mkdir()
        lines = [
            "ClusterName=mmmult-test",
            f"SlurmctldHost={self.host}",
            "SlurmUser=root",
            f"SlurmctldPort={controller_port}",
            f"SlurmdPort={node_port}",
            "AuthType=auth/munge",
            "CredType=cred/munge",
            f"AuthInfo=socket={munge_socket}",
            f"StateSaveLocation={self.root / 'state'}",
            f"SlurmdSpoolDir={self.root / 'spool'}",
            f"SlurmctldPidFile={self.root / 'slurmctld.pid'}",
            f"SlurmdPidFile={self.root / 'slurmd.pid'}",
            f"SlurmctldLogFile={self.root / 'logs' / 'slurmctld.log'}",
            f"SlurmdLogFile={self.root / 'logs' / 'slurmd.log'}",
            "ProctrackType=proctrack/linuxproc",
            "TaskPlugin=task/none",
            "SelectType=select/cons_tres",
            "SelectTypeParameters=CR_CPU",
            "SlurmdParameters=config_overrides",
            "AccountingStorageType=accounting_storage/none",
            "JobCompType=jobcomp/none",
            "JobRequeue=0",  # as at sites where jobs are not requeued unless they ask: the shards' script asks
            "MpiDefault=none",
            "ReturnToService=2",
            "KillWait=5",
            "MinJobAge=300",
            f"NodeName={self.host} NodeAddr=127.0.0.1 CPUs={NODE_CPUS} State=UNKNOWN",
            "PartitionName=test Nodes=ALL Default=YES MaxTime=INFINITE State=UP",
        ]
        self.conf.write_text("\n".join(lines) + "\n")

    def _wait_for_idle_node(self) -> None:
        def idle() -> bool:
            sinfo = self.run("sinfo", "-h", "-o", "%t", check=False)
            return sinfo.returncode == 0 and sinfo.stdout.strip() == "idle"

        self._until(idle, "an idle node", self.root / "logs" / "slurmctld.log")

    def _until(self, condition: object, what: str, log: Path, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while not condition():  # type: ignore[operator]
            ended = [p.args[0] for p in self.processes if p.poll() is not None]
            if ended or time.monotonic() > deadline:
                text = log.read_text(errors="replace")[-3000:] if log.exists() else "(no log)"
                raise RuntimeError(f"no {what} ({', '.join(ended) or 'timed out'} ended); {log}:\n{text}")
            time.sleep(0.2)

    def run(self, *command: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """A Slurm command against this cluster."""
        return subprocess.run(command, capture_output=True, text=True, env=self.env, timeout=60, check=check)

    def stop(self) -> None:
        """Cancel every job, wait for them to end, then end the daemons started here (by their process ids)."""
        if self.run("scancel", "--user=root", check=False).returncode == 0:
            deadline = time.monotonic() + 30
            while self.run("squeue", "-h", check=False).stdout.strip() and time.monotonic() < deadline:
                time.sleep(0.5)
        for process in reversed(self.processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        shutil.rmtree(self.root, ignore_errors=True)
