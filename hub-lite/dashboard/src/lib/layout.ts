/** A small deterministic force-directed layout for the service map: nodes repel each other, edges pull
 * their ends together, a weak pull keeps everything near the centre. O(n² · iterations): callers cap n. */

export interface Point {
  x: number;
  y: number;
}

export interface LayoutOptions {
  width: number;
  height: number;
  iterations?: number;
}

/** Positions for `ids` (same order), inside [margin, width - margin] × [margin, height - margin]. The
 * result depends only on the input, so a refresh with the same graph does not move anything. */
export function forceLayout(ids: string[], edges: [string, string][], opts: LayoutOptions): Point[] {
  const n = ids.length;
  const { width, height } = opts;
  const iterations = opts.iterations ?? 300;
  const index = new Map<string, number>();
  ids.forEach((id, i) => index.set(id, i));
  const links: [number, number][] = [];
  for (const [s, t] of edges) {
    const a = index.get(s);
    const b = index.get(t);
    if (a !== undefined && b !== undefined && a !== b) links.push([a, b]);
  }
  const cx = width / 2;
  const cy = height / 2;
  const r0 = Math.min(width, height) / 3;
  const xs = new Float64Array(n);
  const ys = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const a = (2 * Math.PI * i) / Math.max(n, 1);
    xs[i] = cx + r0 * Math.cos(a);
    ys[i] = cy + r0 * Math.sin(a);
  }
  if (n <= 1) return Array.from({ length: n }, () => ({ x: cx, y: cy }));
  const ideal = Math.sqrt((width * height) / n) * 0.6;
  const dx = new Float64Array(n);
  const dy = new Float64Array(n);
  for (let it = 0; it < iterations; it++) {
    const temp = (ideal * (1 - it / iterations)) / 2 + 0.5;
    dx.fill(0);
    dy.fill(0);
    for (let i = 0; i < n; i++) {
      for (let j = i + 1; j < n; j++) {
        let ddx = (xs[i] ?? 0) - (xs[j] ?? 0);
        let ddy = (ys[i] ?? 0) - (ys[j] ?? 0);
        let d2 = ddx * ddx + ddy * ddy;
        if (d2 < 0.01) {
          // Coincident nodes: separate along a direction fixed by their indices.
          ddx = Math.cos(i + j);
          ddy = Math.sin(i + j);
          d2 = 1;
        }
        const d = Math.sqrt(d2);
        const f = (ideal * ideal) / d;
        const fx = (ddx / d) * f;
        const fy = (ddy / d) * f;
        dx[i] = (dx[i] ?? 0) + fx;
        dy[i] = (dy[i] ?? 0) + fy;
        dx[j] = (dx[j] ?? 0) - fx;
        dy[j] = (dy[j] ?? 0) - fy;
      }
    }
    for (const [a, b] of links) {
      const ddx = (xs[a] ?? 0) - (xs[b] ?? 0);
      const ddy = (ys[a] ?? 0) - (ys[b] ?? 0);
      const d = Math.max(Math.sqrt(ddx * ddx + ddy * ddy), 0.01);
      const f = (d * d) / ideal;
      const fx = (ddx / d) * f;
      const fy = (ddy / d) * f;
      dx[a] = (dx[a] ?? 0) - fx;
      dy[a] = (dy[a] ?? 0) - fy;
      dx[b] = (dx[b] ?? 0) + fx;
      dy[b] = (dy[b] ?? 0) + fy;
    }
    for (let i = 0; i < n; i++) {
      dx[i] = (dx[i] ?? 0) + (cx - (xs[i] ?? 0)) * 0.05 * ideal * 0.1;
      dy[i] = (dy[i] ?? 0) + (cy - (ys[i] ?? 0)) * 0.05 * ideal * 0.1;
      const len = Math.sqrt((dx[i] ?? 0) ** 2 + (dy[i] ?? 0) ** 2);
      if (len > 0) {
        const step = Math.min(len, temp);
        xs[i] = (xs[i] ?? 0) + ((dx[i] ?? 0) / len) * step;
        ys[i] = (ys[i] ?? 0) + ((dy[i] ?? 0) / len) * step;
      }
    }
  }
  return fitInto(xs, ys, width, height, 60);
}

/** Scales and moves the points so they fill the box less a margin, keeping the aspect ratio. */
function fitInto(xs: Float64Array, ys: Float64Array, width: number, height: number, margin: number): Point[] {
  let minX = Infinity;
  let maxX = -Infinity;
  let minY = Infinity;
  let maxY = -Infinity;
  for (let i = 0; i < xs.length; i++) {
    minX = Math.min(minX, xs[i] ?? 0);
    maxX = Math.max(maxX, xs[i] ?? 0);
    minY = Math.min(minY, ys[i] ?? 0);
    maxY = Math.max(maxY, ys[i] ?? 0);
  }
  const w = Math.max(maxX - minX, 1);
  const h = Math.max(maxY - minY, 1);
  const s = Math.min((width - 2 * margin) / w, (height - 2 * margin) / h);
  const ox = (width - w * s) / 2;
  const oy = (height - h * s) / 2;
  return Array.from(xs, (x, i) => ({ x: ox + (x - minX) * s, y: oy + ((ys[i] ?? 0) - minY) * s }));
}
