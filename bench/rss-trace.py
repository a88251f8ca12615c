#!/usr/bin/env python3
"""Runs a command and records how its resident memory moves, to find which stage holds the peak.

Usage: bench/rss-trace.py LOG RSS COMMAND...

LOG gets the command's stderr, each line prefixed with the milliseconds since the start (run the
binary with -v to see the stages and the per-year "indicators computed" lines); RSS gets one line
"milliseconds MiB" every 50 ms (VmRSS from /proc). Prints the exit code, the wall time and the
peak. GNU time's "Maximum resident set size" gives the peak only; this shows when it happens.
"""
import subprocess
import sys
import threading
import time


def main() -> int:
    if len(sys.argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    log, rss = open(sys.argv[1], "w"), open(sys.argv[2], "w")
    t0 = time.time()
    p = subprocess.Popen(sys.argv[3:], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    peak = 0

    def sample() -> None:
        nonlocal peak
        while p.poll() is None:
            try:
                with open(f"/proc/{p.pid}/status") as status:
                    for line in status:
                        if line.startswith("VmRSS"):
                            mib = int(line.split()[1]) // 1024
                            peak = max(peak, mib)
                            rss.write(f"{int((time.time() - t0) * 1000)} {mib}\n")
            except OSError:
                pass
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    for line in p.stderr:
        log.write(f"{int((time.time() - t0) * 1000)} {line}")
    p.wait()
    sampler.join(timeout=1)
    print(f"exit {p.returncode}, {time.time() - t0:.1f} s, peak {peak} MiB (sampled)")
    return p.returncode


if __name__ == "__main__":
    sys.exit(main())
