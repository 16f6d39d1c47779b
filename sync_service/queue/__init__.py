"""The render queue: Huey on SQLite or Redis and its consumers (runtime), the worker that runs
one job (worker), the queue processes' registry and heartbeat (liveness), the check for jobs
whose worker died and the scratch they left (stalls), `serve`'s supervisor of its queue process
(supervisor), the Blender child (runner) and the HTTP client of a remote render machine
(remote); a worker's checks at start (preflight), what it knows of its broker (broker), whether
it takes jobs while the service is away (gate), finished renders waiting for delivery (uploads)
and the outcome of a run that delivered nothing (outcomes)."""
