# Replays (run with pcap sources, compare) draw a progress bar on standard
# error when it is a terminal, cleared when they end, and write nothing more
# when it is not. Timing-proof: the bar always draws its final counts before
# clearing them (tools/cli/progress.hh), however fast the machine is, so a
# replay of any length shows one complete line; redraws in between depend on
# the clock and are not counted on.
. "$(dirname "$0")/lib.inc"
python3 "$SRC/tests/cli/pcapfile.py" one-flow "$T/in.pcap" 20000
cat >"$T/g.yaml" <<Y
variables: { in: x, loop: 1 }
nodes:
  src: { type: pcap-source, file: "\${in}", loop: "\${loop}" }
  out: { type: null-sink }
links: [ src -> out ]
Y

# on_tty PTY_OUT STDOUT CMD...: runs CMD with standard error on a pseudo-terminal
# 60 columns wide (standard output to the file STDOUT), saving what the terminal
# received in PTY_OUT (its line discipline turns "\n" into "\r\n"); CMD's exit code.
on_tty() {
    python3 - "$@" <<'PY'
import fcntl, os, pty, struct, subprocess, sys, termios
pty_out, stdout, cmd = sys.argv[1], sys.argv[2], sys.argv[3:]
master, slave = pty.openpty()
fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 60, 0, 0))
with open(stdout, "wb") as out:
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=slave)
os.close(slave)
got = b""
while True:
    try:
        chunk = os.read(master, 65536)
    except OSError:  # EIO: every end of the slave is closed
        break
    if not chunk:
        break
    got += chunk
open(pty_out, "wb").write(got)
sys.exit(p.wait())
PY
}

# check_bar PTY_OUT: the terminal got bars of 59 columns (60 less one), the
# last at 100% and with a rate and an ETA, and the output ends by blanking it.
check_bar() {
    python3 - "$1" <<'PY' || fail "bar in $1"
import re, sys
got = open(sys.argv[1], "rb").read().decode()
bars = re.findall(r"\r(\[[#.]+\] +\d+%  [^\r]*)", got)
assert bars, repr(got[:300])
assert all(len(b) == 59 for b in bars), [b for b in bars if len(b) != 59]
assert re.match(r"\[#+\] 100%  [\d.]+[kMG]? pkt/s  ETA 0:00 *$", bars[-1]), bars[-1]
assert got.endswith("\r" + " " * 59 + "\r"), repr(got[-120:])
print(len(bars), "bar line(s), last:", bars[-1].rstrip())
PY
}

# --- run, three passes over the file: 100% means the bytes of all three were counted.
on_tty "$T/pty" "$T/stdout" "$BIN" run "$T/g.yaml" --set in="$T/in.pcap" --set loop=3 || fail "run on a terminal: exit $?"
check_bar "$T/pty"
[ ! -s "$T/stdout" ] || fail "run wrote to standard output"
# Not a terminal: nothing on standard error at all.
expect_rc 0 "$BIN" run "$T/g.yaml" --set in="$T/in.pcap" --set loop=3
[ ! -s "$T/err" ] || { cat -v "$T/err"; fail "output on a standard error that is not a terminal"; }

# --- A log line while the bar is shown starts on a blank line (the bar cleared
# first) and the bar is drawn again below it. Off a terminal it is the only output.
size=$(stat -c %s "$T/in.pcap")
head -c $((size - 20)) "$T/in.pcap" >"$T/cut.pcap"
on_tty "$T/pty" "$T/stdout" "$BIN" run "$T/g.yaml" --set in="$T/cut.pcap" || fail "truncated capture on a terminal: exit $?"
check_bar "$T/pty"
python3 - "$T/pty" <<'PY' || fail "log line over the bar"
import sys
got = open(sys.argv[1], "rb").read().decode()
at = got.index("src: ")
before = got[:at]
assert before == "" or before.endswith("\r" + " " * 59 + "\r"), repr(before[-80:])
assert "truncated dump file" in got[at:].split("\r\n")[0], repr(got[at:at + 200])
PY
expect_rc 0 "$BIN" run "$T/g.yaml" --set in="$T/cut.pcap"
[ "$(wc -l <"$T/err")" -eq 1 ] && grep -q "^src: $T/cut.pcap: truncated dump file.*; the rest of the file is ignored\$" "$T/err" ||
    { cat -v "$T/err"; fail "standard error off a terminal is not the warning alone"; }

# --- A graph that reads no file has no bar, even on a terminal.
cat >"$T/gen.yaml" <<Y
nodes:
  gen: { type: generator, count: 1000 }
  out: { type: null-sink }
links: [ gen -> out ]
Y
on_tty "$T/pty" "$T/stdout" "$BIN" run "$T/gen.yaml" || fail "generator graph: exit $?"
[ ! -s "$T/pty" ] || { cat -v "$T/pty"; fail "a graph with no pcap source drew on the terminal"; }

# --- compare: the bar on the terminal, the report on standard output the same as off one.
R=$SRC/tests/replay/cmp-tcp-resegmented
on_tty "$T/pty" "$T/report.tty" "$BIN" compare "$R/primary.pcap" "$R/secondary.pcap" || fail "compare on a terminal: exit $?"
check_bar "$T/pty"
expect_rc 0 "$BIN" compare "$R/primary.pcap" "$R/secondary.pcap"
[ ! -s "$T/err" ] || { cat -v "$T/err"; fail "compare: output on a standard error that is not a terminal"; }
cmp -s "$T/out" "$T/report.tty" || fail "compare's report differs on a terminal"
echo ok
