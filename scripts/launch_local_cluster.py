"""Run a whole training cluster on this machine: a chief, N workers and M parameter servers.

    python scripts/launch_local_cluster.py CONFIG --model_dir DIR [--workers 1] [--ps 1]
        [--train_steps=N ...any other python -m tf_crnn.train flag, written --name=value]

Each task is `python -m tf_crnn.train CONFIG --model_dir=DIR` with its own TF_CONFIG on a
free 127.0.0.1 port: exactly what one machine of a real cluster runs, so this script
only plays the cluster manager. The chief's TF_CONFIG type is `master`, the Estimator's
name for a chief that also evaluates and exports after each checkpoint, as a local run
does (type `chief` only trains). See docs/serving_and_cluster.md.

Every task's output is printed with its name in front (`[chief]`, `[worker0]`, `[ps0]`)
and written to `--log_dir/<task>.log` (default `DIR/cluster_logs`). All tasks are
stopped on Ctrl-C, on SIGTERM, when one fails, and once the chief is done (parameter
servers never end by themselves). On Linux they also get SIGTERM if this script dies.

Exit status: 0 when the chief finished, the chief's status when it failed (2 for bad
input, as `tf_crnn.train`), 1 when another task failed, 130 when interrupted.
"""

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from tf_crnn.errors import ConfigError, exit_on_user_error  # noqa: E402

HOST = "127.0.0.1"
CHIEF_TYPE = "master"
POLL_SECS = 0.5
STOP_TIMEOUT_SECS = 15.0


def free_port(host: str = HOST) -> int:
    """A port nothing listens on right now: bind port 0 and let the kernel choose.

    The probe socket is closed before the task binds the port, so another program could
    take it in between; the task then fails to start its server and the run stops.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def cluster_spec(workers: int, ps: int, host: str = HOST) -> dict:
    """The `cluster` part of TF_CONFIG: one address per chief, worker and ps task."""
    spec = {CHIEF_TYPE: [f"{host}:{free_port(host)}"]}
    if workers:
        spec["worker"] = [f"{host}:{free_port(host)}" for _ in range(workers)]
    spec["ps"] = [f"{host}:{free_port(host)}" for _ in range(ps)]
    return spec


def tf_config(cluster: dict, task_type: str, index: int) -> str:
    """The TF_CONFIG of one task: the whole cluster, and which member this task is."""
    return json.dumps({"cluster": cluster, "task": {"type": task_type, "index": index}})


def planned_tasks(cluster: dict):
    """(name, TF_CONFIG type, index) per task; parameter servers first, so they listen early."""
    tasks = [(f"ps{i}", "ps", i) for i in range(len(cluster["ps"]))]
    tasks.append(("chief", CHIEF_TYPE, 0))
    tasks += [(f"worker{i}", "worker", i) for i in range(len(cluster.get("worker", [])))]
    return tasks


def _die_with_parent():
    """Runs in the child before exec: SIGTERM when the launcher dies, even by SIGKILL (Linux)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class Task:
    """One `python -m tf_crnn.train` process; its output is prefixed and copied to a log file."""

    def __init__(self, name, task_type, command, env, log_path, print_lock):
        self.name = name
        self.task_type = task_type
        self.log_path = log_path
        self._print_lock = print_lock
        # Its own session keeps the terminal's Ctrl-C away from the task: the launcher stops
        # every task itself, so none is left half-stopped.
        self.process = subprocess.Popen(
            command, env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None)
        self._reader = threading.Thread(target=self._copy_output, name=f"log-{name}", daemon=True)
        self._reader.start()

    def _copy_output(self):
        prefix = f"[{self.name}] "
        with open(self.log_path, "w", encoding="utf-8") as log:
            for raw in self.process.stdout:
                line = raw.decode("utf-8", errors="replace")
                log.write(line)
                log.flush()
                with self._print_lock:
                    sys.stdout.write(prefix + line)
                    sys.stdout.flush()

    def status(self):
        return self.process.poll()

    def wait_for_output(self, timeout: float = 5.0):
        """Lets the log copy finish after the process ended, so no last line is lost."""
        self._reader.join(timeout)

    def last_lines(self, count: int = 5) -> str:
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as log:
                return "".join(log.readlines()[-count:])
        except OSError:
            return ""


def stop_all(tasks, timeout: float = STOP_TIMEOUT_SECS):
    """SIGTERM to every running task, SIGKILL to those still running after `timeout`."""
    for task in tasks:
        if task.status() is None:
            task.process.terminate()
    deadline = time.time() + timeout
    for task in tasks:
        try:
            task.process.wait(max(0.1, deadline - time.time()))
        except subprocess.TimeoutExpired:
            task.process.kill()
            task.process.wait()
    for task in tasks:
        task.wait_for_output()


class Interrupted(Exception):
    """SIGTERM to the launcher, handled like Ctrl-C."""


def _raise_interrupted(signum, frame):
    raise Interrupted()


def say(message: str):
    print(f"[cluster] {message}", flush=True)


def wait_for_cluster(tasks, grace_secs: float) -> int:
    """Waits for the chief, then gives the workers `grace_secs` to end on their own (they stop
    at the same global step, usually within a step); returns the run's exit status."""
    chief = next(t for t in tasks if t.task_type == CHIEF_TYPE)
    workers = [t for t in tasks if t.task_type == "worker"]
    chief_done_at = None
    while True:
        for task in tasks:
            status = task.status()
            if status is None:
                continue
            if task is chief and status != 0:
                say(f"chief failed with status {status}; see {task.log_path}")
                return status
            if status != 0:
                say(f"{task.name} failed with status {status}; see {task.log_path}\n{task.last_lines()}")
                return 1
            if task.task_type == "ps":
                say(f"{task.name} ended, but a parameter server serves until stopped; see {task.log_path}")
                return 1
        if chief.status() == 0:
            if chief_done_at is None:
                chief_done_at = time.time()
                say("chief finished")
            if all(t.status() is not None for t in workers):
                return 0
            if time.time() - chief_done_at > grace_secs:
                late = ", ".join(t.name for t in workers if t.status() is None)
                say(f"{late} still running {grace_secs:.0f} s after the chief finished; stopping")
                return 0
        time.sleep(POLL_SECS)


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="python scripts/launch_local_cluster.py",
        description="Run a chief, workers and parameter servers of tf_crnn.train on 127.0.0.1.",
        epilog="Other flags, written --name=value, go to every task (e.g. --train_steps=400).")
    parser.add_argument("config", help="the model_params.json every task trains with")
    parser.add_argument("--model_dir", required=True, help="the model dir, shared by all tasks")
    parser.add_argument("--workers", type=int, default=1, help="worker tasks besides the chief (default 1)")
    parser.add_argument("--ps", type=int, default=1, help="parameter server tasks (default 1)")
    parser.add_argument("--log_dir", default=None, help="one log file per task (default MODEL_DIR/cluster_logs)")
    parser.add_argument("--grace_secs", type=float, default=120.0,
                        help="how long workers may run on after the chief is done (default 120)")
    args, train_flags = parser.parse_known_args(argv)
    if args.workers < 0:
        raise ConfigError(f"--workers must be 0 or more, got {args.workers}")
    if args.ps < 1:
        raise ConfigError(f"--ps must be 1 or more (the variables live on the parameter servers), got {args.ps}")
    for flag in train_flags:
        if not (flag.startswith("--") and "=" in flag):
            raise ConfigError(f"unexpected argument {flag!r}: flags for tf_crnn.train are written --name=value")
    return args, train_flags


@exit_on_user_error
def main(argv=None):
    args, train_flags = parse_args(sys.argv[1:] if argv is None else argv)
    from tf_crnn.config import load_config

    # Checked once here: a bad config gives one message, not one per task.
    load_config(args.config, {"model_dir": args.model_dir})
    model_dir = os.path.abspath(args.model_dir)
    log_dir = os.path.abspath(args.log_dir or os.path.join(model_dir, "cluster_logs"))
    os.makedirs(log_dir, exist_ok=True)

    cluster = cluster_spec(args.workers, args.ps)
    say("cluster " + json.dumps(cluster))
    command = [sys.executable, "-m", "tf_crnn.train", os.path.abspath(args.config), f"--model_dir={model_dir}",
               *train_flags]
    pythonpath = os.pathsep.join(p for p in (REPO, os.environ.get("PYTHONPATH")) if p)
    print_lock = threading.Lock()
    tasks = []
    previous_term = signal.signal(signal.SIGTERM, _raise_interrupted)
    try:
        for name, task_type, index in planned_tasks(cluster):
            env = dict(os.environ, PYTHONPATH=pythonpath, PYTHONUNBUFFERED="1",
                       TF_CONFIG=tf_config(cluster, task_type, index))
            tasks.append(Task(name, task_type, command, env, os.path.join(log_dir, f"{name}.log"), print_lock))
            say(f"started {name} (pid {tasks[-1].process.pid})")
        status = wait_for_cluster(tasks, args.grace_secs)
    except (KeyboardInterrupt, Interrupted):
        say("interrupted; stopping all tasks")
        status = 130
    finally:
        # A second Ctrl-C or SIGTERM must not cut the clean-up short.
        previous_int = signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stop_all(tasks)
        signal.signal(signal.SIGINT, previous_int)
        signal.signal(signal.SIGTERM, previous_term)
    say(f"all tasks stopped; logs in {log_dir}")
    return status


if __name__ == "__main__":
    sys.exit(main())
