"""The headless render layer (needs ``bpy``): scene, garment shape and mesh, materials, studio,
Cycles setup, shots (stills and frames), turntable and bake; `compat` holds every difference
between the Blender releases supported (4.2 LTS through 5.0)."""
