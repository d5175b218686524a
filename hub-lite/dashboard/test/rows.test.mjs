import { test } from "node:test";
import assert from "node:assert/strict";
import { findRowById, RowBuffer, rowOfEntry } from "../build-test/lib/rows.js";

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

test("findRowById finds the row of an id, the newest when repeated, or null", () => {
  const rows = [row(1), row(2), { seq: 3, id: "e-1", again: true }, row(4)];
  assert.equal(findRowById(rows, "e-2"), rows[1]);
  assert.equal(findRowById(rows, "e-1"), rows[2]);
  assert.equal(findRowById(rows, "e-9"), null);
  assert.equal(findRowById([], "e-1"), null);
});

// docs/api.md: a row is the entry without request, response and notes, plus the hub's seq and the
// request's method and path when they are strings (whatever the protocol).
test("rowOfEntry is the entry's row, with seq -1 and the request's method and path", () => {
  const entry = {
    id: "e-7", protocol: "grpc", transport: "tcp", ts: "2026-12-06T22:52:18.602484000Z", elapsed_us: 924,
    src: { ip: "127.0.0.1", port: 33008 }, dst: { ip: "127.0.0.1", port: 59155, pod: "p" },
    summary: "/golden.Greeter/SayHello", status: "OK", outcome: "ok", tls: false, request_size: 303, response_size: 188,
    request: { path: "/golden.Greeter/SayHello", method: "SayHello", messages: [] }, response: { status: "OK" },
    notes: ["x"],
  };
  const { request, response, notes, ...rest } = entry;
  assert.deepEqual(rowOfEntry(entry), { ...rest, seq: -1, method: request.method, path: request.path });
  // A WebSocket message has neither; a path that is not text is left out.
  const ws = { ...entry, protocol: "websocket", request: { from: "client", opcode: "text", path: 5 }, response: null };
  const r = rowOfEntry(ws);
  assert.equal("method" in r, false);
  assert.equal("path" in r, false);
  assert.equal(r.seq, -1);
  // Old hubs without outcome and tls: the row has none either.
  const { outcome, tls, ...old } = ws;
  const o = rowOfEntry(old);
  assert.equal("outcome" in o, false);
  assert.equal("tls" in o, false);
});
