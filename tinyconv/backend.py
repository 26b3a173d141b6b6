"""Where work runs: the search's candidate evaluations in this process, in spawned local
worker processes, or as tasks on a Ray cluster (`tinyconv search --ray [ADDRESS]`); and one
long job (`tinyconv train --ray`, a search's supernet and final training) here or as one
Ray task on a node of the cluster (`run_job`).

For the evaluations, one interface for all three: `submit(fn, *args)` returns a concurrent.futures.Future and
`results(fn, jobs)` yields `(job index, result)` as evaluations finish, with at most
`slots` of them running at once, so that the evolution has one code path and logs each
candidate the moment it finishes. `fn` is any picklable module-level function (the proxy
evaluators; a worker process may cache what it loads, e.g. a supernet), and `setup`, if
given, is called once per worker process with its thread count before the first job.

Ray is optional (`pip install 'tinyconv[ray]'`) and imported only for `--ray`. ADDRESS is
that of a running cluster (`ray start --head` prints it; `auto` finds one on this machine,
`ray://host:10001` is Ray Client); without it (or with `local`) a local Ray instance is
started for the command, without dashboard, and shut down at its end. Each evaluation is a
Ray task holding its share of the cluster's CPUs; a long job one task holding a node's CPUs
(and a GPU where the cluster has one). Every node must have tinyconv (and the dataset)
installed as on this machine, and a job's output folder (run directory, supernet) on a
path every node reaches.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, wait

from .errors import TinyconvError
from .interrupt import on_interrupt, sigint_blocked

LOCAL = "local"                 # `--ray` without an address: start a local instance
RAY_INSTALL = "pip install 'tinyconv[ray]'"
CONNECT_TIMEOUT_S = 5.0         # an address that does not answer within it is an error
SHUTDOWN_TIMEOUT_S = 8.0        # an interrupt waits at most this long for Ray to stop


def init_worker(threads: int) -> None:
    """Cap TensorFlow's thread pools before it starts (a worker process's `setup`)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ["OMP_NUM_THREADS"] = str(threads)
    from tinyconv.keras_compat import tf
    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(max(1, threads))
    except RuntimeError:  # already initialised (in-process evaluation): keep its pools
        pass


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


class Backend:
    """Runs `fn(*args)` jobs; at most `slots` at once. Use as a context manager."""

    slots: int = 1
    description: str = "in this process"

    def submit(self, fn: Callable, *args) -> Future:
        raise NotImplementedError

    def results(self, fn: Callable, jobs: Iterable[tuple]) -> Iterator[tuple[int, object]]:
        """(index into jobs, result) for each job as it finishes. Jobs are submitted in
        order, at most `slots` running at once; an evaluation's exception is raised here."""
        queue = list(enumerate(jobs))
        queue.reverse()
        running: dict[Future, int] = {}
        while queue or running:
            while queue and len(running) < self.slots:
                i, args = queue.pop()
                running[self.submit(fn, *args)] = i
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for f in sorted(finished, key=running.get):
                yield running.pop(f), f.result()

    def close(self) -> None:
        """Stop: outstanding jobs are cancelled, worker processes ended."""

    def __enter__(self) -> "Backend":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class InProcess(Backend):
    """Each job runs in this process when submitted (results() submits one at a time)."""

    def __init__(self, setup: Callable[[int], None] | None = None, threads: int = 0) -> None:
        if setup is not None:
            setup(threads or cpu_count())

    def submit(self, fn: Callable, *args) -> Future:
        f: Future = Future()
        try:
            f.set_result(fn(*args))
        except Exception as e:  # noqa: BLE001 - raised again by f.result()
            f.set_exception(e)
        return f


def _pool_worker_start(setup: Callable[[int], None] | None, threads: int) -> None:
    """Initializer of a spawned local worker: SIGINT is the parent's (tinyconv.interrupt)."""
    from tinyconv.interrupt import worker_ignores_sigint
    worker_ignores_sigint()
    if setup is not None:
        setup(threads)


class LocalPool(Backend):
    """`workers` spawned processes on this machine, sharing its CPUs."""

    def __init__(self, workers: int, setup: Callable[[int], None] | None = None) -> None:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor
        from multiprocessing import resource_tracker

        from .quiet import stderr_to_devnull
        # The pool's semaphores are released by multiprocessing's resource tracker, a
        # helper process, also when a Ctrl-C ends this one at once (tinyconv.interrupt);
        # started here with stderr on /dev/null, it does that without a warning.
        with stderr_to_devnull():
            resource_tracker.ensure_running()
        threads = max(1, cpu_count() // workers)
        self.slots = workers
        self.description = f"{workers} local worker processes, {threads} thread(s) each"
        self.pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                                        initializer=_pool_worker_start, initargs=(setup, threads))

    def submit(self, fn: Callable, *args) -> Future:
        # Workers start inside submit: with SIGINT held back, so that they are born
        # ignoring it (a Ctrl-C is the parent's, which kills them).
        with sigint_blocked():
            return self.pool.submit(fn, *args)

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


# In a Ray worker process: the (setup, threads) already run there.
_ray_setup_done: set = set()


def _ray_job(setup: Callable[[int], None] | None, threads: int, fn: Callable, args: tuple):
    """What a Ray task runs: the worker's one-time setup, then the job. A TinyconvError
    comes back as its message (raised again, one line, by the driver)."""
    if setup is not None and (setup, threads) not in _ray_setup_done:
        setup(threads)
        _ray_setup_done.add((setup, threads))
    try:
        return True, fn(*args)
    except TinyconvError as e:
        return False, str(e)


def import_ray():
    try:
        import ray
    except ImportError:
        raise TinyconvError(f"--ray needs Ray: {RAY_INSTALL}") from None
    return ray


def _check_reachable(address: str) -> None:
    """One line naming the address when nothing answers there (Ray itself would retry for
    a minute, printing warnings)."""
    if address == "auto":
        return
    hostport = address.split("://", 1)[-1].rstrip("/")
    host, sep, port = hostport.rpartition(":")
    if not sep or not port.isdigit():
        raise TinyconvError(f"--ray {address}: give HOST:PORT (the address `ray start --head` "
                            f"prints, e.g. 10.0.0.5:6379), `auto`, or no address for a local "
                            f"Ray instance")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_TIMEOUT_S):
            pass
    except OSError as e:
        raise TinyconvError(f"--ray {address}: no Ray cluster answers there "
                            f"({e.strerror or e})") from None


def check_ray(address: str | None) -> None:
    """Before a search starts: Ray installed, and something answering at `address`."""
    import_ray()
    if address not in (None, "", LOCAL):
        _check_reachable(address.strip())


class RaySession:
    """Ray set up for this process (a local instance started, or a cluster connected) and
    taken down at `close()`; `track(ref)` registers a task that an interrupt or `close()`
    cancels. From construction on, an interrupt (tinyconv.interrupt) cancels the tracked
    tasks and stops the instance we started, within SHUTDOWN_TIMEOUT_S."""

    def __init__(self, address: str | None) -> None:
        import logging

        ray = import_ray()
        self.ray = ray
        self.owns = False             # we started Ray (a local instance) or connected it
        self.stopping = False         # set by an interrupt: results are no longer wanted
        self.refs: dict[object, object] = {}   # key -> an outstanding task's ref
        self._lock = threading.Lock()
        self._interrupt = on_interrupt(self._stop_now)
        self._interrupt.__enter__()
        address = None if address in (None, "", LOCAL) else address.strip()
        try:
            if ray.is_initialized():  # a driver that set Ray up itself: use its cluster
                self.where = "the Ray cluster this process is connected to"
            elif address is None:
                # Ray's processes block SIGINT themselves: a Ctrl-C is ours, and stops them.
                os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
                self.owns = True
                # address "local": a new instance, whatever RAY_ADDRESS or a `ray start`
                # on this machine says (`--ray auto` connects to that one).
                ray.init(address=LOCAL, num_cpus=cpu_count(), include_dashboard=False,
                         log_to_driver=False, logging_level=logging.ERROR)
                self.where = "a local Ray instance"
            else:
                _check_reachable(address)
                try:
                    self.owns = True
                    ray.init(address=address, log_to_driver=False, logging_level=logging.ERROR)
                except (ConnectionError, RuntimeError, ValueError) as e:
                    first = (str(e).strip().splitlines() or [type(e).__name__])[0]
                    hint = ("" if os.environ.get("RAY_AUTH_MODE") else "; a cluster with "
                            "token authentication needs RAY_AUTH_MODE=token here")
                    raise TinyconvError(f"--ray {address}: cannot connect ({first}){hint}") \
                        from None
                self.where = f"the Ray cluster at {address}"
            self.nodes = [n.get("Resources", {}) for n in ray.nodes() if n.get("Alive")]
            self.cpus = int(ray.cluster_resources().get("CPU", 0))
            if self.cpus < 1:
                raise TinyconvError(f"--ray: {self.where} has no CPU to run on")
        except BaseException:
            self.close()
            raise

    def describe(self) -> str:
        n = len(self.nodes)
        return f"{self.where} ({n} node{'s' if n != 1 else ''}, {self.cpus} CPUs)"

    def track(self, key, ref) -> None:
        with self._lock:
            self.refs[key] = ref

    def untrack(self, key) -> None:
        with self._lock:
            self.refs.pop(key, None)

    def _cancel_outstanding(self) -> None:
        with self._lock:
            refs = list(self.refs.values())
            self.refs.clear()
        for ref in refs:
            try:
                self.ray.cancel(ref, force=True)
            except Exception:  # noqa: BLE001 - already finished or gone
                pass

    def close(self) -> None:
        if getattr(self, "_interrupt", None) is not None:
            self._interrupt.__exit__(None, None, None)
            self._interrupt = None
        self._cancel_outstanding()
        if self.owns:                 # stops the instance we started, or disconnects
            self.owns = False
            self.ray.shutdown()

    def _stop_now(self) -> None:
        """At an interrupt: cancel the outstanding tasks and stop the instance we started,
        in a helper thread waited for at most SHUTDOWN_TIMEOUT_S."""
        self.stopping = True

        def stop() -> None:
            self._cancel_outstanding()
            if self.owns:
                self.ray.shutdown()
        t = threading.Thread(target=stop, name="tinyconv-ray-stop", daemon=True)
        t.start()
        t.join(timeout=SHUTDOWN_TIMEOUT_S)


class RayBackend(Backend):
    """Each job a Ray task holding `cpus` CPUs; at most `slots` tasks at once."""

    def __init__(self, address: str | None, workers: int | None,
                 setup: Callable[[int], None] | None = None) -> None:
        self.session = session = RaySession(address)
        ray = self.ray = session.ray
        try:
            total = session.cpus
            per_node = [n.get("CPU", 0) for n in session.nodes]
            self.slots = workers or total
            # A whole share of CPUs per task (Ray wants whole numbers above 1) that one
            # node can hold, or a fraction when more tasks than CPUs are asked for.
            if self.slots <= total:
                self.cpus: float = max(1, min(total // self.slots, int(max(per_node or [1]))))
            else:
                self.cpus = int(total / self.slots * 10_000) / 10_000
            self.threads = max(1, int(self.cpus))
            self.setup = setup
            # A task lost with its worker or node is retried (Ray's default); one whose
            # evaluation raised is not.
            self._remote = ray.remote(_ray_job).options(num_cpus=self.cpus)
        except BaseException:
            session.close()
            raise
        self.description = (f"on Ray: {session.describe()}, up to {self.slots} task(s) at "
                            f"once, {self.cpus:g} CPU(s) each")

    def submit(self, fn: Callable, *args) -> Future:
        ref = self._remote.remote(self.setup, self.threads, fn, args)
        outer: Future = Future()
        self.session.track(outer, ref)

        def done(inner: Future) -> None:  # in a Ray thread: no Ray calls here
            self.session.untrack(outer)
            if self.session.stopping:  # interrupted: the process is about to exit
                return
            try:
                ok, value = inner.result()
            except Exception as e:  # noqa: BLE001 - the task failed: one line
                outer.set_exception(_ray_failure(e))
                return
            if ok:
                outer.set_result(value)
            else:
                outer.set_exception(TinyconvError(value))

        ref.future().add_done_callback(done)
        return outer

    def close(self) -> None:
        self.session.close()


def _one_line(e: BaseException) -> str:
    """An exception as its type and the last line of its message."""
    text = [line.strip() for line in str(e).strip().splitlines() if line.strip()]
    return type(e).__name__ + (f": {text[-1]}" if text else "")


def _ray_failure(e: BaseException, job: str = "a candidate's evaluation") -> TinyconvError:
    """A Ray task that failed (an exception in the job, a lost worker or node), in one line."""
    cause = getattr(e, "cause", None) or e   # RayTaskError: the job's own exception
    return TinyconvError(f"{job} failed on Ray ({_one_line(cause)})")


# -- one long job on Ray: `train --ray`, a search's supernet and final training ---------------
class _Printed:
    """sys.stdout of a Ray job: what the job prints goes to `put` (not a terminal, so
    Keras writes per-epoch lines, no per-step bars)."""

    def __init__(self, put: Callable[[tuple], None]) -> None:
        self.put = put

    def write(self, text: str) -> int:
        if text:
            self.put(("out", text))
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False


def _ray_stream(fn: Callable, args: tuple, kwargs: dict, threads: int):
    """The Ray task of `run_job` (a streaming generator): `fn(*args, **kwargs)` in a thread
    of this worker, TensorFlow's pools at `threads`; yields ("out", text) for what it prints
    while it runs, then ("result", value), ("error", message) for a TinyconvError, or
    ("failed", description) for any other exception."""
    import queue
    import sys

    init_worker(threads)
    events: queue.SimpleQueue = queue.SimpleQueue()

    def work() -> None:
        try:
            events.put(("result", fn(*args, **kwargs)))
        except TinyconvError as e:
            events.put(("error", str(e)))
        except BaseException as e:  # noqa: BLE001 - sent to the driver as one line
            events.put(("failed", _one_line(e)))

    stdout = sys.stdout
    sys.stdout = _Printed(events.put)
    try:
        threading.Thread(target=work, name="tinyconv-job", daemon=True).start()
        while True:
            event = events.get()
            yield event
            if event[0] != "out":
                return
    finally:
        sys.stdout = stdout


def _job_node(nodes: list[dict]) -> dict:
    """The resources of the node a single job runs on: one with a GPU if the cluster has
    one (TensorFlow trains there), else the one with the most CPUs."""
    return max(nodes, key=lambda n: (n.get("GPU", 0) >= 1, n.get("CPU", 0)))


def run_job(ray_address: str | None, job: str, fn: Callable, *args, **kwargs):
    """`fn(*args, **kwargs)`: here without `ray_address` (None), else (`--ray [ADDRESS]`) as
    one Ray task on one node of the cluster, with that node's CPUs and a GPU where the
    cluster has one, what it prints printed here as it comes. The job's files go where its
    arguments say: on a cluster, a path every node reaches. An interrupt cancels the task
    (its checkpoints stay for a resume); a TinyconvError there is one here. `job` names it
    in messages ("the training")."""
    if ray_address is None:
        return fn(*args, **kwargs)
    import sys

    session = RaySession(ray_address)
    try:
        node = _job_node(session.nodes)
        cpus, gpus = max(1, int(node.get("CPU", 1))), 1 if node.get("GPU", 0) >= 1 else 0
        print(f"{job} on Ray: {session.describe()}; one task of {cpus} CPU(s)"
              f"{' and a GPU' if gpus else ''}", flush=True)
        remote = session.ray.remote(_ray_stream).options(
            num_returns="streaming", num_cpus=cpus, num_gpus=gpus, max_retries=0)
        stream = remote.remote(fn, args, kwargs, cpus)
        session.track(job, stream)
        try:
            for ref in stream:
                kind, value = session.ray.get(ref)
                if kind == "out":
                    sys.stdout.write(value)
                    sys.stdout.flush()
                elif kind == "result":
                    return value
                elif kind == "error":
                    raise TinyconvError(value)
                else:
                    raise TinyconvError(f"{job} failed on Ray ({value})")
        except TinyconvError:
            raise
        except Exception as e:  # noqa: BLE001 - a lost worker or node: one line
            raise _ray_failure(e, job) from None
        raise TinyconvError(f"{job} on Ray ended without a result")
    finally:
        session.close()


def make_backend(workers: int | None, ray_address: str | None = None,
                 setup: Callable[[int], None] | None = None) -> Backend:
    """The backend for `--workers N` and `--ray [ADDRESS]` (None: no Ray). `workers` None
    means 1 locally, the cluster's CPUs on Ray."""
    if ray_address is not None:
        return RayBackend(ray_address, workers, setup)
    if (workers or 1) > 1:
        return LocalPool(workers, setup)
    return InProcess(setup)
