#!/bin/sh
# `keel check` over several cases draws a progress line on stderr when it
# is a terminal, and nothing more than before when it is not: five cases of
# the ONNX suite and one missing folder (a FAIL line), run with stderr on a
# pseudo-terminal (stdout a pipe, then stdout on the same terminal), with
# both on pipes, with KEEL_PROGRESS=0, and one case alone.  The terminal's
# bytes are replayed through a small model of a terminal (CR, LF, ESC[K):
# progress lines must have been erased, and the result lines must read as
# they do on a pipe.
keel="${KEEL:-./cli/keel}"
data="${KEEL_TESTDATA:-/usr/share/libonnx-testdata/data}/node"
python=/usr/bin/python3
[ -d "$data" ] || { echo "cli_progress: $data missing (apt-get install libonnx-testdata)"; exit 1; }
[ -x "$keel" ] || { echo "cli_progress: $keel is not built"; exit 1; }
[ -x "$python" ] || { echo "cli_progress: $python missing"; exit 1; }
for c in test_relu test_add test_abs test_neg test_sigmoid; do
    [ -f "$data/$c/model.onnx" ] || { echo "cli_progress: $data/$c missing"; exit 1; }
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/keel-cli-progress.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

exec "$python" - "$keel" "$data" "$tmp/no_such_case" <<'EOF'
import os
import subprocess
import sys

keel, data, missing = sys.argv[1:4]
names = ["test_relu", "test_add", "test_abs", "test_neg", "test_sigmoid"]
cases = [os.path.join(data, n) for n in names] + [missing]
labels = names + [os.path.basename(missing)]
ERASE = b"\r\x1b[K"
failed = 0


def check(what, ok, detail=""):
    global failed
    print(("ok   " if ok else "FAIL ") + what + ("" if ok or not detail else ": " + detail))
    failed += not ok


def run(args, out_tty, err_tty, env_extra=None):
    """keel check ARGS with stdout and/or stderr on one pseudo-terminal:
    (exit status, stdout, stderr, the terminal's bytes)."""
    env = dict(os.environ)
    env.pop("KEEL_PROGRESS", None)
    env.update(env_extra or {})
    master, slave = os.openpty()
    proc = subprocess.Popen([keel, "check", *args], stdin=subprocess.DEVNULL,
                            stdout=slave if out_tty else subprocess.PIPE,
                            stderr=slave if err_tty else subprocess.PIPE, env=env)
    os.close(slave)
    tty = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # EIO: the child's end is closed
            break
        if not chunk:
            break
        tty += chunk
    os.close(master)
    out, err = proc.communicate(timeout=120)
    return proc.returncode, out or b"", err or b"", tty


def screen(data):
    """The lines a terminal shows after data (CR, LF, ESC[K understood;
    the pty's CR LF for LF included), trailing empty lines dropped."""
    lines, row, col, i = [bytearray()], 0, 0, 0
    while i < len(data):
        if data.startswith(b"\x1b[K", i):
            del lines[row][col:]
            i += 3
            continue
        c = data[i]
        i += 1
        if c == 13:
            col = 0
        elif c == 10:
            row += 1
            if row == len(lines):
                lines.append(bytearray())
        else:
            line = lines[row]
            line.extend(b" " * (col - len(line)))
            line[col:col + 1] = bytes([c])
            col += 1
    text = [bytes(l).decode(errors="replace") for l in lines]
    while text and text[-1] == "":
        text.pop()
    return text


total = len(cases)
# both on pipes: today's output, nothing on stderr
rc, piped_out, piped_err, _ = run(cases, False, False)
piped_lines = piped_out.decode().splitlines()
check("pipes: exit 1 (one case missing)", rc == 1, f"exit {rc}")
check("pipes: closing line", piped_lines[-1:] == ["5 passed, 1 failed"], repr(piped_lines[-1:]))
check("pipes: nothing on stderr", piped_err == b"", repr(piped_err[:200]))
check("pipes: no escape sequence on stdout", b"\x1b" not in piped_out and b"\r" not in piped_out)

# stderr on the terminal, stdout a pipe
rc, out, err, tty = run(cases, False, True)
check("stderr on a terminal: same exit", rc == 1, f"exit {rc}")
check("stderr on a terminal: stdout byte for byte as on pipes", out == piped_out,
      f"{out[:300]!r} vs {piped_out[:300]!r}")
for k, label in enumerate(labels, 1):
    check(f"progress shows [{k}/{total}] {label}", f"[{k}/{total}] {label}  ".encode() in tty, repr(tty[:300]))
check("progress shows the time elapsed", b" elapsed" in tty, repr(tty[:300]))
check("progress estimates the time left", b" left" in tty, repr(tty[:300]))
check("progress is redrawn in place (CR, ESC[K)", tty.startswith(ERASE) and tty.count(ERASE) >= total)
check("progress line erased at the end", tty.endswith(ERASE), repr(tty[-80:]))
check("nothing left on the terminal once erased", screen(tty) == [], repr(screen(tty)))

# both on the same terminal: the result lines read as they do on a pipe
rc, _, _, tty = run(cases, True, True)
check("stdout and stderr on one terminal: same exit", rc == 1, f"exit {rc}")
check("progress drawn there", f"[{total}/{total}] ".encode() in tty, repr(tty[:300]))
shown = screen(tty)
check("result lines not garbled by the progress line", shown == piped_lines,
      "\n" + "\n".join(shown) + "\n--- want\n" + "\n".join(piped_lines))

# turned off, and a single case: nothing on the terminal
rc, out, _, tty = run(cases, False, True, {"KEEL_PROGRESS": "0"})
check("KEEL_PROGRESS=0: nothing on the terminal", rc == 1 and tty == b"", repr(tty[:200]))
check("KEEL_PROGRESS=0: stdout as on pipes", out == piped_out)
rc, out, _, tty = run(cases[:1], False, True)
check("one case: no progress", rc == 0 and tty == b"" and out.startswith(b"ok   test_relu"),
      f"exit {rc}, {tty[:200]!r}")

print(f"cli_progress: {failed} failed")
sys.exit(1 if failed else 0)
EOF
