#!/usr/bin/env python3
"""transport_alone.py SOURCE_DIR OBJECT... — conn.c is a transport: it calls no daemon file above it.

A connection moves bytes and descriptors, queues replies and takes turns; what the
bytes mean (methods, sessions, descriptor caches, the daemon that assembles them) is
the layer above's, reached only through the callbacks it sets (STYLE.md, "Layers call
down, never around"). Reads, from the daemon's object files' symbols (nm), which
other daemon files conn.o needs, and fails naming any outside what a transport may
use: the log, rate-limited log lines, heap trimming and the per-uid records. Its
source (SOURCE_DIR/conn.c, conn.h) includes no daemon header beyond those and the
plain records it shares (access.h's peer, config.h and policy.h's limits)."""
import os
import subprocess
import sys

FILE = "conn"
MAY = {"log", "ratelog", "trim", "peers"}
HEADERS = MAY | {FILE, "access", "config", "policy"}


def symbols(obj, which):
    """The global symbols obj defines (which="--defined-only") or needs ("-u")."""
    out = subprocess.run([os.environ.get("NM", "nm"), "-P", "-g", which, obj], check=True,
                         capture_output=True, text=True).stdout
    return {line.split()[0] for line in out.splitlines() if line.strip()}


def includes(srcdir):
    """The daemon headers conn.c and conn.h include that a transport may not."""
    daemon = {f[:-2] for f in os.listdir(srcdir) if f.endswith(".h")}
    bad = []
    for f in (FILE + ".c", FILE + ".h"):
        with open(os.path.join(srcdir, f)) as src:
            for line in src:
                words = line.split()
                if len(words) >= 2 and words[0] == "#include" and words[1].startswith('"'):
                    h = words[1].strip('"')[:-2]
                    if h in daemon and h not in HEADERS:
                        bad.append(f"{f} includes {h}.h")
    return bad


def main(args):
    if not args or not os.path.isdir(args[0]):
        print("transport_alone.py: give the daemon's source folder first", file=sys.stderr)
        return 1
    srcdir, args = args[0], args[1:]
    # CMake's $<TARGET_OBJECTS:...> may come as one ;-separated argument.
    objs = [o for a in args for o in a.split(";") if o.endswith(".o")]
    name = {o: os.path.basename(o).split(".")[0] for o in objs}
    mine = [o for o in objs if name[o] == FILE]
    if len(mine) != 1 or len(objs) < 2:
        print(f"transport_alone.py: give the daemon's object files, {FILE}'s among them",
              file=sys.stderr)
        return 1
    owner = {s: o for o in objs if o != mine[0] for s in symbols(o, "--defined-only")}
    needs = {}
    for s in symbols(mine[0], "-u"):
        if s in owner:
            needs.setdefault(name[owner[s]], []).append(s)
    bad = sorted(set(needs) - MAY)
    for f in bad:
        print(f"{FILE} -> {f}: {' '.join(sorted(needs[f]))}")
    print(f"{FILE} needs {', '.join(sorted(needs)) or 'no daemon file'}; "
          f"{len(bad)} beyond {', '.join(sorted(MAY))}")
    headers = includes(srcdir)
    for h in headers:
        print(h)
    return 1 if bad or headers else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
