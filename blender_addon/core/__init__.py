"""The add-on's plain-Python core: building the spec, planning a job, running the renderer child,
manifest and job files, the service client and its threads. Never imports ``bpy``."""
