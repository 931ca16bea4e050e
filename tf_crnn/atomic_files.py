"""Files written whole or not at all: under a temporary name in the same folder, then renamed,
so a reader (or a run killed halfway) never leaves half a file under the real name."""

import os


def write_atomically(path: str, content: bytes) -> None:
    """Writes `content` to `path` through `path.tmp-PID` and a rename; the temporary file is
    removed if anything fails, and the old file, if any, stays as it was."""
    tmp_path = f"{path}.tmp-{os.getpid()}"
    try:
        with open(tmp_path, "wb") as handle:
            handle.write(content)
        os.replace(tmp_path, path)
    except BaseException:
        if os.path.exists(tmp_path):
            os.remove(tmp_path)
        raise
