"""The render queue: Huey on SQLite or Redis and its consumers (runtime), the worker that runs
one job (worker), the check for jobs whose worker died (stalls), the Blender child (runner) and
the HTTP client of a remote render machine (remote)."""
