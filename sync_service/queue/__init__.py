"""The render queue: Huey on SQLite or Redis (runtime, settings), the worker that runs one job,
the Blender child (runner) and the HTTP client of a remote render machine (remote)."""
