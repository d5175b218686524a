import { test } from "node:test";
import assert from "node:assert/strict";
import { RowBuffer } from "../build-test/lib/rows.js";

const row = (seq) => ({ seq, id: `e-${seq}` });

test("rows keep order, skip repeats from a replay, and ignore junk", () => {
  const b = new RowBuffer(100);
  assert.equal(b.push([row(1), row(2), row(3)]), 3);
  assert.equal(b.push([row(2), row(3), row(4), null, 7, { seq: "9", id: "x" }, { seq: 10 }]), 1);
  assert.deepEqual(b.rows.map((r) => r.seq), [1, 2, 3, 4]);
  b.clear();
  assert.equal(b.push([row(2)]), 1);
});

test("the buffer stays within max + 10% and keeps the newest rows", () => {
  const b = new RowBuffer(1000);
  let seq = 0;
  for (let i = 0; i < 50; i++) b.push(Array.from({ length: 997 }, () => row(++seq)));
  assert.ok(b.length <= 1100, `length ${b.length}`);
  assert.equal(b.rows[b.length - 1].seq, seq);
  assert.equal(b.dropped + b.length, seq);
  for (let i = 1; i < b.length; i++) assert.equal(b.rows[i].seq, b.rows[i - 1].seq + 1);
});
