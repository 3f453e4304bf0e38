"""Keep the garbage collector's full passes short: freeze what a server process holds at start.

CPython's collector stops every thread while it walks all tracked objects of its oldest
generation. A server process holds about 250,000 of them once it has started (modules,
routes, schemas, SQLAlchemy's and Jinja's compiled forms), and the pages' map elements
make reference cycles that trigger such full passes every few seconds under load. Each
full pass then took 330-1,070 ms on the loaded 2-core machine (one every 75 requests of
a mix of plot pages and searches), and every request in flight waited for it: the tail
of the load benchmark. Frozen (``gc.freeze``), the objects alive after start are left out
of every pass; the same requests then met passes of 1-60 ms.

Done once per process, after a full collection, so that nothing already garbage is kept
for ever; later apps in the same process (tests start many) freeze nothing more.
"""

from __future__ import annotations

import gc
import threading

_lock = threading.Lock()
_frozen = False


def freeze_startup_objects() -> int:
    """Collect, then move every object alive now out of the collector's passes (once per
    process). Returns how many objects are frozen."""
    global _frozen
    with _lock:
        if not _frozen:
            gc.collect()
            gc.freeze()
            _frozen = True
        return gc.get_freeze_count()
