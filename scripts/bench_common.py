"""What every benchmark script does with its figures: print them and write them as JSON."""

import json
import os
import sys


def write_result(result: dict, path: str) -> None:
    """Prints `result` and writes it to `path` (folders made as needed)."""
    print(json.dumps(result, indent=2))
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(result, handle, indent=2)
        handle.write("\n")
    print(f"wrote {path}", file=sys.stderr)
