"""Clean silhouette edges of a render on a transparent film.

A half-covered edge pixel's straight (unassociated) colour is the colour of the cloth it
covers: the film behind it is empty. Cycles' denoiser filters the premultiplied colour but not
the alpha, so on such a pixel it can leave too little colour for its alpha, and saving
straight RGBA divides that error by a small alpha: the dark dotted fringe along the hem. Here
each edge pixel takes the mean colour of its opaque neighbours where it has any.
"""

from __future__ import annotations

from pathlib import Path

import bpy
import numpy as np

OPAQUE = 0.99


def _neighbour_sum(values: np.ndarray) -> np.ndarray:
    """Sum over the 3 x 3 neighbourhood (zero outside the image)."""
    padded = np.pad(values, [(1, 1), (1, 1)] + [(0, 0)] * (values.ndim - 2))
    height, width = values.shape[:2]
    return sum(padded[dy:dy + height, dx:dx + width] for dy in range(3) for dx in range(3))


def clean_png(path: Path) -> None:
    """Rewrite the straight colour of partly transparent pixels of the PNG at `path`."""
    image = bpy.data.images.load(str(path), check_existing=False)
    try:
        width, height = image.size
        pixels = np.empty(width * height * 4, dtype=np.float32)
        image.pixels.foreach_get(pixels)
        rgba = pixels.reshape(height, width, 4)
        alpha = rgba[..., 3]
        edge = (alpha > 0.0) & (alpha < OPAQUE)
        if not edge.any():
            return
        source = alpha >= OPAQUE
        # two rings: an anti-aliased edge is up to ~2 px wide with the 1.5 px pixel filter
        for _ in range(2):
            weight = source.astype(np.float32)
            count = _neighbour_sum(weight)
            total = _neighbour_sum(rgba[..., :3] * weight[..., None])
            fix = edge & ~source & (count > 0)
            rgba[..., :3][fix] = total[fix] / count[fix][:, None]
            source = source | fix
        image.pixels.foreach_set(rgba.ravel())
        image.filepath_raw = str(path)
        image.file_format = "PNG"
        image.save()
    finally:
        bpy.data.images.remove(image)
