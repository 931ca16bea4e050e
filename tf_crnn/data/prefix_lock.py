"""One conversion at a time per shard set: an exclusive lock on OUTPUT_DIR/.PREFIX.lock.

Two conversions of the same `--prefix` into the same folder share a staging folder, and
each clears the other's stale shards when it publishes: the set that comes out can be
empty or a mix of both inputs while both exit 0. So the second one is refused at once,
with the first one's process id and command.

The lock is `flock`: the kernel drops it when its process ends, `kill -9` included, so a
crash never leaves a lock that blocks the next run (only the few-byte file, which the next
run takes over). A run that ends removes the file while it still holds the lock; a process
that opened the file just before the removal would then lock a file no one else can see,
so `_acquire` checks that the file it locked is still the one at the path.
"""

import contextlib
import errno
import fcntl
import os
import sys

from tf_crnn.errors import DataError

LOCK_NAME = ".{prefix}.lock"


def lock_path(output_dir: str, prefix: str) -> str:
    return os.path.join(output_dir, LOCK_NAME.format(prefix=prefix))


def _holder(path: str) -> str:
    """What the lock file says about the process holding it ("process 123: python -m ...")."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            pid, _, command = handle.read().partition("\n")
    except OSError:
        return "another process"
    return f"process {pid.strip() or '?'}" + (f" ({command.strip()})" if command.strip() else "")


def _acquire(path: str) -> int:
    """Returns a descriptor holding the exclusive lock on `path`; raises DataError if it is held."""
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as err:
            os.close(fd)
            if err.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                return -1
            raise
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return fd
        os.close(fd)  # locked a file someone removed meanwhile: take the one in its place


@contextlib.contextmanager
def exclusive_prefix(output_dir: str, prefix: str):
    """Holds the lock of `prefix` in `output_dir` (which must exist) for the `with` block.

    Raises DataError naming the process that holds it, without waiting.
    """
    path = lock_path(output_dir, prefix)
    try:
        fd = _acquire(path)
    except OSError as err:
        raise DataError(f"--output_dir {output_dir}: cannot make the lock file {path} ({err.strerror})") from None
    if fd < 0:
        raise DataError(f"--prefix {prefix}: another conversion is writing this set in {output_dir}, "
                        f"{_holder(path)}; wait for it to end, or give another --prefix or --output_dir")
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n{' '.join(sys.argv)}\n".encode("utf-8", "replace"))
        yield
    finally:
        with contextlib.suppress(OSError):
            os.remove(path)  # still locked: whoever opened it meanwhile sees the change
        os.close(fd)  # releases the lock
