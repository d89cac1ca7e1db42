"""sharr.watch: events on the names under a prefix, in order, from a producer in
another process; fileno() for selectors and asyncio; the end when sharrd stops."""

import asyncio
import selectors
import subprocess
import sys

import numpy as np
import pytest

import sharr


def _produce(script):
    """Run script with sharr imported in another process, to its end."""
    subprocess.run([sys.executable, "-c", "import numpy as np, sharr\n" + script],
                   check=True, timeout=60)


def test_iterating_a_watch_yields_an_arrays_life_in_order(new_name):
    name = new_name()
    with sharr.watch(name) as w:
        _produce(f"""
sharr.create({name!r}, (2, 3), np.float32)
sharr.chmod({name!r}, 0o640)
sharr.unlink({name!r})
""")
        events = [next(w) for _ in range(3)]
    assert [e.kind for e in events] == ["created", "chmod", "removed"]
    assert all(e.name == name for e in events)
    assert events[0].info.shape == (2, 3)
    assert events[0].info.dtype == np.dtype(np.float32)
    assert events[1].info.perm == 0o640


def test_names_outside_the_prefix_are_not_reported(new_name):
    inside, outside = new_name("in"), new_name("out")
    prefix = inside[:-2]            # "<stem>-in-": not a prefix of outside
    assert not outside.startswith(prefix)
    with sharr.watch(prefix) as w:
        sharr.create(outside, 4, np.int8)
        sharr.create(inside, 4, np.int8)
        ev = next(w)
    assert (ev.kind, ev.name) == ("created", inside)


def test_fileno_serves_selectors_and_next_event_never_blocks(new_name):
    name = new_name()
    with sharr.watch(name) as w, selectors.DefaultSelector() as sel:
        assert w.next_event() is None
        sel.register(w, selectors.EVENT_READ)
        assert sel.select(timeout=0) == []
        sharr.create(name, 8, np.int16)
        assert sel.select(timeout=30)
        ev = w.next_event()
        assert (ev.kind, ev.name) == ("created", name)
        assert w.next_event() is None


def test_asyncio_reads_a_watch_with_add_reader(new_name):
    name = new_name()

    async def main():
        loop = asyncio.get_running_loop()
        got = loop.create_future()
        w = sharr.watch(name)

        def readable():
            while (ev := w.next_event()) is not None:
                if not got.done():
                    got.set_result(ev)

        loop.add_reader(w.fileno(), readable)
        sharr.create(name, 2, np.float64)
        ev = await asyncio.wait_for(got, 30)
        loop.remove_reader(w.fileno())
        w.close()
        return ev

    ev = asyncio.run(main())
    assert (ev.kind, ev.name) == ("created", name)


def test_a_watch_ends_with_connectionreseterror_when_sharrd_stops(own_daemon, monkeypatch):
    monkeypatch.setenv("SHARR_SOCKET", own_daemon.socket)
    w = sharr.watch(socket=own_daemon.socket)
    own_daemon.stop()
    with pytest.raises(ConnectionResetError):
        next(w)
    w.close()
    with pytest.raises(ValueError):
        w.fileno()


def test_a_bad_prefix_is_refused():
    with pytest.raises(ValueError):
        sharr.watch(".hidden")
