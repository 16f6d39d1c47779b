"""What the artist sees inside Blender: properties, preferences, panels, preview, operators."""
