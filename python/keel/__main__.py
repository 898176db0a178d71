"""python3 -m keel COMMAND ... -- runs the `keel` command with the same arguments.

This only forwards: `python3 -m keel info model.onnx` replaces itself with
`keel info model.onnx` (os.execv), so the output, the exit status and the
commands (info, run, check, bench, zoo, help) are the keel command's own;
nothing is reimplemented in Python.

The command is, in this order: $KEEL_COMMAND; `keel` on PATH; `keel` in
the bin folder next to the loaded libkeel's (<libdir>/../bin/keel).
"""
from __future__ import annotations

import os
import shutil
import sys
from typing import List, Optional, Tuple

from . import library_path


def find_command() -> Tuple[Optional[str], List[str]]:
    """(path of the keel command, None if none) and what was tried."""
    tried = []
    env = os.environ.get("KEEL_COMMAND")
    if env:
        if os.access(env, os.X_OK) and os.path.isfile(env):
            return env, tried
        tried.append(f"$KEEL_COMMAND: {env} is not an executable file")
        return None, tried
    tried.append("$KEEL_COMMAND: not set")
    on_path = shutil.which("keel")
    if on_path:
        return on_path, tried
    tried.append("PATH: no keel")
    beside = os.path.normpath(os.path.join(os.path.dirname(library_path), "..", "bin", "keel"))
    if os.access(beside, os.X_OK) and os.path.isfile(beside):
        return beside, tried
    tried.append(f"beside libkeel ({library_path}): no {beside}")
    return None, tried


def main(argv: List[str]) -> int:
    """Runs keel with `argv` in place of this process; returns only on failure."""
    command, tried = find_command()
    if command is None:
        print("python3 -m keel: cannot find the keel command; tried, in order:\n  " +
              "\n  ".join(tried) + "\nInstall keel (make install) or set KEEL_COMMAND "
              "to the path of the keel executable", file=sys.stderr)
        return 127
    sys.stdout.flush()
    try:
        os.execv(command, [command] + argv)
    except OSError as exc:
        print(f"python3 -m keel: cannot run {command}: {exc}", file=sys.stderr)
        return 126


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
