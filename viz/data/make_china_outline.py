"""Build ``china_outline.json`` (GeoJSON) from the ``world-atlas`` npm package (run once by hand).

    npm pack world-atlas@2.0.2 && tar xzf world-atlas-2.0.2.tgz
    python viz/data/make_china_outline.py package/countries-50m.json viz/data/china_outline.json

world-atlas 2.0.2 (ISC licence, Copyright 2013-2019 Michael Bostock) is TopoJSON built from
Natural Earth 1:50m Admin 0 countries (public domain). The script decodes the TopoJSON arcs of
the features with ids 156 and 158, rounds coordinates to 0.02 degrees and thins them with the
Douglas-Peucker rule (tolerance 0.04 degrees): an outline for a small map, not a survey.
"""

from __future__ import annotations

import json
import sys

IDS = {"156", "158"}
TOLERANCE = 0.04


def decode_arcs(topo: dict) -> list[list[tuple[float, float]]]:
    sx, sy = topo["transform"]["scale"]
    tx, ty = topo["transform"]["translate"]
    out = []
    for arc in topo["arcs"]:
        x = y = 0
        pts = []
        for dx, dy in arc:
            x += dx
            y += dy
            pts.append((x * sx + tx, y * sy + ty))
        out.append(pts)
    return out


def ring(indices: list[int], arcs: list) -> list[tuple[float, float]]:
    pts: list[tuple[float, float]] = []
    for i in indices:
        a = arcs[i] if i >= 0 else arcs[~i][::-1]
        pts.extend(a if not pts else a[1:])
    return pts


def simplify(pts: list[tuple[float, float]], tol: float) -> list[tuple[float, float]]:
    if len(pts) < 4:
        return pts
    keep = [False] * len(pts)
    keep[0] = keep[-1] = True
    stack = [(0, len(pts) - 1)]
    while stack:
        a, b = stack.pop()
        (x0, y0), (x1, y1) = pts[a], pts[b]
        dx, dy = x1 - x0, y1 - y0
        norm = (dx * dx + dy * dy) ** 0.5 or 1e-12
        best, idx = 0.0, -1
        for i in range(a + 1, b):
            x, y = pts[i]
            d = abs(dy * (x - x0) - dx * (y - y0)) / norm
            if d > best:
                best, idx = d, i
        if best > tol and idx > 0:
            keep[idx] = True
            stack += [(a, idx), (idx, b)]
    return [p for p, k in zip(pts, keep, strict=True) if k]


def main(src: str, dst: str) -> None:
    topo = json.load(open(src))
    arcs = decode_arcs(topo)
    features = []
    for geom in topo["objects"]["countries"]["geometries"]:
        if str(geom.get("id")) not in IDS:
            continue
        polys = geom["arcs"] if geom["type"] == "MultiPolygon" else [geom["arcs"]]
        out = []
        for poly in polys:
            rings = []
            for r in poly:
                full = ring(r, arcs)
                mid = len(full) // 2  # a closed ring: thin its two halves (ends coincide)
                pts = simplify(full[: mid + 1], TOLERANCE)[:-1] + simplify(full[mid:], TOLERANCE)
                pts = [(round(x / 0.02) * 0.02, round(y / 0.02) * 0.02) for x, y in pts]
                pts = [[round(x, 2), round(y, 2)] for x, y in pts]
                if len(pts) >= 4:
                    rings.append(pts)
            if rings:
                out.append(rings)
        features.append(
            {
                "type": "Feature",
                "properties": {"name": geom["properties"]["name"]},
                "geometry": {"type": "MultiPolygon", "coordinates": out},
            }
        )
    doc = {
        "type": "FeatureCollection",
        "origin": "world-atlas 2.0.2 (npm), countries-50m.json: TopoJSON of Natural Earth 1:50m "
        "Admin 0 countries; simplified by viz/data/make_china_outline.py",
        "licence": "world-atlas: ISC licence, Copyright 2013-2019 Michael Bostock; "
        "Natural Earth data: public domain",
        "features": features,
    }
    with open(dst, "w") as f:
        json.dump(doc, f, separators=(",", ":"))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
