// gRPC message presentation: the message shapes the dissector writes (docs/entry.md, gRPC) shown as JSON
// that means the same (JSON.parse is the oracle) or as a hex dump whose bytes are the message's (Buffer).
// Status names and codes are gRPC's (doc/statuscodes.md of grpc/grpc).
import { test } from "node:test";
import assert from "node:assert/strict";
import { isGrpcRequest, isGrpcResponse, SCHEMA_LESS, showMessage, statusText, timeoutText } from "../build-test/lib/grpc.js";
import { HEX_LIMIT } from "../build-test/lib/body.js";

test("a message decoded with its schema is its JSON, labelled with the type", () => {
  const json = { currencyCode: "EUR", units: "3", nanos: 5e8, tags: ["a", "b"], nested: { ok: true } };
  const v = showMessage({ compressed: false, size: 21, type: "kshark.test.v1.Money", json });
  assert.equal(v.kind, "schema");
  assert.equal(v.label, "kshark.test.v1.Money");
  assert.deepEqual(JSON.parse(v.text), json);
  assert.ok(v.text.includes('\n  "currencyCode": "EUR"'), "indented by two spaces");
});

test("a schema-less tree keeps its field numbers and every value form of protobuf_raw", () => {
  // The value forms of protobuf_raw's JSON: varint, nested message, text, bytes, fixed32/64, repeats.
  const raw = { "1": 150, "2": { "1": "nested", "3": [1, 2] }, "4": { bytes: "AP8=" },
    "5": { fixed32: 1078530011, float: 3.1415927 }, "6": { fixed64: 4614253070214989087, double: 3.14 }, "7": "text\nline" };
  const v = showMessage({ compressed: true, size: 60, raw });
  assert.equal(v.kind, "raw");
  assert.equal(v.label, SCHEMA_LESS);
  assert.match(v.label, /field numbers/);
  assert.deepEqual(JSON.parse(v.text), raw);
  const cut = showMessage({ raw: { "1": 1 }, fields_truncated: true });
  assert.ok(cut.label.startsWith(SCHEMA_LESS) && cut.label !== SCHEMA_LESS, cut.label);
  // An empty message is an empty tree, not "no payload".
  assert.deepEqual(showMessage({ compressed: false, size: 0, raw: {} }), { kind: "raw", label: SCHEMA_LESS, text: "{}" });
});

test("bytes are a hex dump of exactly the message's bytes, capped", () => {
  const bytes = Buffer.from(Array.from({ length: 40 }, (_, i) => (i * 53) & 0xff));
  const v = showMessage({ size: 40, base64: bytes.toString("base64") });
  assert.equal(v.kind, "bytes");
  assert.equal(v.total, 40);
  const hex = v.hex.split("\n").map((l) => l.slice(10, 59).replace(/\s+/g, "")).join("");
  assert.deepEqual(Buffer.from(hex, "hex"), bytes);
  const big = Buffer.alloc(HEX_LIMIT + 10, 7);
  const b = showMessage({ base64: big.toString("base64"), truncated: true });
  assert.equal(b.shown, HEX_LIMIT);
  assert.equal(b.total, HEX_LIMIT + 10);
  assert.match(b.label, /cut short/);
  assert.equal(showMessage({ base64: "%%%" }).kind, "none");
  assert.equal(showMessage({ compressed: false, size: 3 }).kind, "none");
});

test("status: name and code together, either alone, or none", () => {
  assert.equal(statusText("OK", 0), "OK (0)");
  assert.equal(statusText("NOT_FOUND", 5), "NOT_FOUND (5)");
  assert.equal(statusText("UNAVAILABLE", null), "UNAVAILABLE");
  // A code gRPC does not name: the dissector's status is the number itself, shown once.
  assert.equal(statusText("42", 42), "42");
  assert.equal(statusText(null, 16), "16");
  assert.equal(statusText(null, null), null);
  assert.equal(statusText("", undefined), null);
});

test("timeouts: microseconds formatted, unparsed header text flagged, absent null", () => {
  assert.equal(timeoutText(1_500_000, (us) => `${us / 1e6}s`), "1.5s");
  assert.match(timeoutText("99X", String), /99X.*not a valid/);
  assert.equal(timeoutText(undefined, String), null);
});

test("requests and responses are told by their messages list", () => {
  assert.equal(isGrpcRequest({ path: "/a.B/C", messages: [] }), true);
  assert.equal(isGrpcResponse({ status: "OK", code: 0, messages: [{ raw: {} }] }), true);
  for (const v of [null, {}, { messages: "x" }, { method: "GET", path: "/" }, "messages"]) {
    assert.equal(isGrpcRequest(v), false, JSON.stringify(v));
    assert.equal(isGrpcResponse(v), false, JSON.stringify(v));
  }
});
