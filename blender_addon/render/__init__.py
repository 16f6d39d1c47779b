"""The headless render layer (needs ``bpy``): scene, garment mesh, materials, studio, Cycles
setup, stills, turntable and bake."""
