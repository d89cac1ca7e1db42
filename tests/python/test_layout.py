"""The ctypes mirrors of sharr.h's structs (_lib.py) match the C layout field for
field: names, offsets and sizes as the C compiler lays them out (layout.c, built by
CMake, run through $SHARR_LAYOUT), and the sizes the structs keep for the whole ABI."""

import ctypes
import dataclasses
import json
import os
import subprocess

import pytest

from sharr import _info, _lib

# The Python mirror of each C struct.
MIRRORS = {
    "sharr_info": _lib.Info,
    "sharr_server": _lib.Server,
    "sharr_stats": _lib.Stats,
    "sharr_create_opts": _lib.CreateOpts,
    "sharr_open_opts": _lib.OpenOpts,
    "sharr_holder": _lib.Holder,
    "sharr_event": _lib.Event,
}

# Structs the library fills never change size (sharr.h): new fields take reserved space.
FIXED_SIZES = {"sharr_info": 2048, "sharr_server": 128, "sharr_stats": 256,
               "sharr_holder": 384, "sharr_event": 2128}


@pytest.fixture(scope="module")
def c_layout():
    prog = os.environ.get("SHARR_LAYOUT")
    if not prog:
        raise pytest.UsageError("set SHARR_LAYOUT to the layout program (CTest does)")
    return json.loads(subprocess.run([prog], check=True, capture_output=True,
                                     text=True).stdout)


@pytest.mark.parametrize("name", sorted(MIRRORS))
def test_ctypes_struct_matches_the_c_layout(c_layout, name):
    mirror = MIRRORS[name]
    c = c_layout[name]
    assert ctypes.sizeof(mirror) == c["size"]
    py = {f[0]: [getattr(mirror, f[0]).offset, getattr(mirror, f[0]).size]
          for f in mirror._fields_}
    assert py == c["fields"]


@pytest.mark.parametrize("name", sorted(FIXED_SIZES))
def test_structs_the_library_fills_keep_their_size(c_layout, name):
    assert c_layout[name]["size"] == FIXED_SIZES[name]


def test_option_structs_are_made_with_their_size():
    assert _lib.CreateOpts().size == ctypes.sizeof(_lib.CreateOpts)
    assert _lib.OpenOpts(5, _lib.F_NOMAP).size == ctypes.sizeof(_lib.OpenOpts)
    assert _lib.OpenOpts(5, _lib.F_NOMAP).wait_ms == 5


def test_constants_match_sharr_h(c_layout):
    for name, value in c_layout["constants"].items():
        assert getattr(_lib, name) == value, name


@pytest.mark.parametrize("record, struct", [(_info.Stats, "sharr_stats"),
                                            (_info.Holder, "sharr_holder")])
def test_records_have_every_field_of_the_c_struct(c_layout, record, struct):
    fields = [f for f in c_layout[struct]["fields"] if f != "reserved"]
    assert [f.name for f in dataclasses.fields(record)] == fields
