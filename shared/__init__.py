"""The shared vocabulary and contracts: presets, angles, colours, job states, validation, the
JSON contracts and the error family. Standard library only, so Blender's Python, the sync
service and the CLI all import the same definitions."""
