"""pyharness.py — what the Python benchmarks share: their command line, Markdown
output, targets (also appended to $SHARR_BENCH_SUMMARY, as report.c does), order
statistics and CPU placement of processes and every one of their threads.

It measures nothing itself; py_attach.py and py_datapath.py do.
"""

import argparse
import os
import sys


def parse_args(description):
    """The options every benchmark takes; returns the argparse namespace."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--quick", action="store_true",
                   help="smoke run: smaller arrays, fewer repetitions")
    p.add_argument("--scratch", default=os.environ.get("TMPDIR", "/tmp"),
                   help="directory for scratch files (unused by some benchmarks)")
    return p.parse_args()


def out(text=""):
    print(text, flush=True)


def title(text):
    out(f"\n## {text}\n")


def text(paragraph):
    out(paragraph)
    out()


def columns(*names):
    out("| " + " | ".join(names) + " |")
    out("|---" + "|--:" * (len(names) - 1) + "|")


def row(*cells):
    out("| " + " | ".join(str(c) for c in cells) + " |")


def end():
    out()


def target(what, measured, met, why=None):
    """One target; met is True, False or None (not measured)."""
    verdict = {True: "met", False: "**MISSED**", None: "not measured"}[met]
    note = why if (why and met is not True) else ""
    out(f"- target: {what} — measured {measured} — {verdict}" + (f": {note}" if note else ""))
    path = os.environ.get("SHARR_BENCH_SUMMARY")
    if path:
        with open(path, "a") as f:
            f.write(f"| {what} | {measured} | {verdict} | {note} |\n")


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def percentile(samples, q):
    """Nearest-rank percentile, as stats.c computes it."""
    s = sorted(samples)
    k = max(1, min(len(s), int(q * len(s) + 0.999999)))
    return s[k - 1]


def median(samples):
    return percentile(samples, 0.5)


def place(pid, cpus):
    """Put every thread of pid (0: this process) on cpus (a set), or every CPU for None."""
    if cpus is None:
        cpus = set(range(os.cpu_count()))
    pid = pid or os.getpid()
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            os.sched_setaffinity(int(tid), cpus)
        except ProcessLookupError:
            pass  # the thread ended between listing and placing


def warn(message):
    print(f"{os.path.basename(sys.argv[0])}: {message}", file=sys.stderr, flush=True)
