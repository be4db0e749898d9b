"""Sweeps: a grid of ordinary runs (trials) fanned out on Ray, recorded in the one run store by the driver.

``grid.py`` parses ``--grid KEY=V1,V2`` and expands it; ``trials.py`` holds a trial (method, grid point, seed and its
validated ``RunConfig``); ``ray_env.py`` connects to a cluster or starts a local Ray; ``hub.py`` is the Ray actor that
relays the trials' events to the driver (and serves them the store's random-real references); ``trial.py`` is what
runs on a Ray node (``jobs.execute``, never the store); ``driver.py`` submits the trials, drains their events into the
store through ``RunRecorder`` and owns their liveness.
"""
