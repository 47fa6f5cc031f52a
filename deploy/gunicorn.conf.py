"""gunicorn settings read by deploy/Procfile's web line (`-c deploy/gunicorn.conf.py`).

Python's cyclic garbage collector pauses a worker now and then; with the app loaded in the master
(`preload_app`) its objects are frozen out of the collector's reach in each worker, and the first
generation's threshold is raised, so collections are rarer and shorter: fewer slow requests in
the tail. Memory is shared copy-on-write between the workers as a bonus.
"""

import gc

preload_app = True


def post_fork(server, worker):
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)
