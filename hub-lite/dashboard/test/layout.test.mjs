import { test } from "node:test";
import assert from "node:assert/strict";
import { forceLayout } from "../build-test/lib/layout.js";

test("layout keeps nodes inside the box, apart, and is deterministic", () => {
  const ids = Array.from({ length: 30 }, (_, i) => `n${i}`);
  const edges = ids.slice(1).map((id, i) => [ids[Math.floor(i / 3)], id]);
  const a = forceLayout(ids, edges, { width: 800, height: 600 });
  const b = forceLayout(ids, edges, { width: 800, height: 600 });
  assert.deepEqual(a, b);
  let minD = Infinity;
  for (const p of a) {
    assert.ok(p.x >= 59 && p.x <= 741 && p.y >= 59 && p.y <= 541, JSON.stringify(p));
    for (const q of a) if (p !== q) minD = Math.min(minD, Math.hypot(p.x - q.x, p.y - q.y));
  }
  assert.ok(minD > 20, `closest nodes ${minD}px apart`);
  // Linked nodes end up closer on average than unlinked ones.
  const idx = new Map(ids.map((id, i) => [id, i]));
  const dist = (s, t) => Math.hypot(a[idx.get(s)].x - a[idx.get(t)].x, a[idx.get(s)].y - a[idx.get(t)].y);
  const linked = edges.reduce((s, [x, y]) => s + dist(x, y), 0) / edges.length;
  let all = 0, n = 0;
  for (const x of ids) for (const y of ids) if (x < y) { all += dist(x, y); n++; }
  assert.ok(linked < all / n, `linked ${linked} vs all ${all / n}`);
});

test("degenerate graphs do not throw", () => {
  assert.deepEqual(forceLayout([], [], { width: 100, height: 100 }), []);
  assert.equal(forceLayout(["a"], [["a", "a"], ["a", "zz"]], { width: 100, height: 100 }).length, 1);
});
