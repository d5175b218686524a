// Body presentation against independent oracles: JSON.parse of the pretty text, Node's Buffer for
// base64 and hex, URLSearchParams for forms.
import { test } from "node:test";
import assert from "node:assert/strict";
import { viewBody, hexDump, parseForm, HEX_LIMIT } from "../build-test/lib/body.js";

test("JSON is indented and means the same", () => {
  const text = '{"items":[{"id":1,"ok":true}],"s":"a\\"b"}';
  const v = viewBody({ mime: "application/json", text });
  assert.equal(v.kind, "json");
  assert.ok(v.text.includes('\n  "items": ['));
  assert.deepEqual(JSON.parse(v.text), JSON.parse(text));
});

test("text that claims JSON but is not stays text", () => {
  assert.deepEqual(viewBody({ mime: "application/json", text: "{nope" }), { kind: "text", text: "{nope" });
});

test("forms decode like URLSearchParams", () => {
  const text = "a=1&b=x+y%20z&c=%E2%9C%93&empty=&flag&bad=%zz";
  const v = viewBody({ mime: "application/x-www-form-urlencoded", text });
  assert.equal(v.kind, "form");
  const oracle = [...new URLSearchParams(text)];
  assert.deepEqual(v.fields.slice(0, 5), oracle.slice(0, 5));
  assert.deepEqual(v.fields[5], ["bad", "%zz"]);
  assert.deepEqual(parseForm(""), []);
});

test("binary bodies become a hex dump whose bytes decode back", () => {
  const bytes = Buffer.from(Array.from({ length: 40 }, (_, i) => (i * 37) & 0xff));
  const v = viewBody({ mime: "application/octet-stream", base64: bytes.toString("base64") });
  assert.equal(v.kind, "hex");
  assert.equal(v.total, 40);
  const lines = v.text.split("\n");
  assert.equal(lines.length, 3);
  const hex = lines.map((l) => l.slice(10, 10 + 49).replace(/\s+/g, "")).join("");
  assert.equal(hex, bytes.toString("hex"));
  assert.ok(lines[0].startsWith("00000000  "));
  assert.ok(lines[1].startsWith("00000010  "));
  const ascii = lines.map((l) => l.slice(l.indexOf("|") + 1, l.lastIndexOf("|"))).join("");
  assert.equal(ascii, [...bytes].map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : ".")).join(""));
});

test("hex dumps are capped and say how much there was", () => {
  const bytes = Buffer.alloc(HEX_LIMIT + 1000, 0x41);
  const v = viewBody({ base64: bytes.toString("base64") });
  assert.equal(v.shown, HEX_LIMIT);
  assert.equal(v.total, HEX_LIMIT + 1000);
  assert.equal(v.text.split("\n").length, HEX_LIMIT / 16);
  assert.equal(hexDump(new Uint8Array(0)), "");
});

test("invalid base64 is shown as text, not thrown", () => {
  assert.equal(viewBody({ base64: "!!!" }).kind, "text");
});
