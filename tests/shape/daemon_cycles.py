#!/usr/bin/env python3
"""daemon_cycles.py OBJECT... — no two daemon files call each other, even round about.

Derives the call graph between the daemon's object files from their symbols (nm: what
each defines, what each needs from the others) and fails, naming the calls, on any
cycle between files. A cycle means two files are one concept or miss a callback
(STYLE.md, "Layers call down, never around")."""
import os
import subprocess
import sys


def symbols(obj, which):
    """The global symbols obj defines (which="--defined-only") or needs ("-u")."""
    out = subprocess.run([os.environ.get("NM", "nm"), "-P", "-g", which, obj], check=True,
                         capture_output=True, text=True).stdout
    return {line.split()[0] for line in out.splitlines() if line.strip()}


def main(args):
    # CMake's $<TARGET_OBJECTS:...> may come as one ;-separated argument.
    objs = [o for a in args for o in a.split(";") if o.endswith(".o")]
    if len(objs) < 2:
        print("daemon_cycles.py: give the daemon's object files (got %d)" % len(objs),
              file=sys.stderr)
        return 1
    name = {o: os.path.basename(o).split(".")[0] for o in objs}
    owner = {}
    for o in objs:
        for s in symbols(o, "--defined-only"):
            if s in owner:
                print(f"{s} is defined by {name[owner[s]]} and {name[o]}", file=sys.stderr)
                return 1
            owner[s] = o
    calls = {name[o]: {} for o in objs}
    for o in objs:
        for s in symbols(o, "-u"):
            if s in owner and owner[s] != o:
                calls[name[o]].setdefault(name[owner[s]], []).append(s)

    # Tarjan's strongly connected components: every component of more than one file
    # is a set of files that call each other round about.
    index, low, stack, on, comps = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in calls[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                comps.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(calls):
        if v not in index:
            visit(v)
    for comp in comps:
        print("files that call each other: " + " ".join(comp))
        for a in comp:
            for b in sorted(calls[a]):
                if b in comp:
                    print(f"  {a} -> {b}: {' '.join(sorted(calls[a][b]))}")
    edges = sum(len(c) for c in calls.values())
    print(f"{len(objs)} daemon files, {edges} calls between files, {len(comps)} cycles")
    return 1 if comps else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
