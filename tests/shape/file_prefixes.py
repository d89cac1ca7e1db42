#!/usr/bin/env python3
"""file_prefixes.py OBJECT... — every global a daemon or codec file defines carries its file's name.

STYLE.md: internal names are prefixed by their file (conn_, registry_, codec_), so a
name says where it lives. Reads, from the object files' symbols (nm), each global
one defines, and fails naming those that start neither with the file's name and "_"
(store_open in store.c), nor with its family's, the part of a file name before its
first "_" (methods_open in methods_attach.c, codec_map in codec_fields.c), nor are
the file's name itself (store_grow in store_grow.c). main is main."""
import os
import subprocess
import sys


def defined(obj):
    """The global symbols obj defines."""
    out = subprocess.run([os.environ.get("NM", "nm"), "-P", "-g", "--defined-only", obj],
                         check=True, capture_output=True, text=True).stdout
    return {line.split()[0] for line in out.splitlines() if line.strip()}


def main(args):
    # CMake's $<TARGET_OBJECTS:...> may come as one ;-separated argument.
    objs = [o for a in args for o in a.split(";") if o.endswith(".o")]
    if len(objs) < 2:
        print("file_prefixes.py: give the object files (got %d)" % len(objs), file=sys.stderr)
        return 1
    bad = []
    for o in sorted(objs):
        name = os.path.basename(o).split(".")[0]
        family = name.split("_")[0]
        for s in sorted(defined(o)):
            if s == "main" or s == name or s.startswith(name + "_") or s.startswith(family + "_"):
                continue
            bad.append(f"{name}.c defines {s}, not {name}_*")
    for line in bad:
        print(line)
    print(f"{len(objs)} files, {len(bad)} globals without their file's prefix")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
