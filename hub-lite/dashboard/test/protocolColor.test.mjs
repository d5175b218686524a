// Protocol colours from names. The hash parts are checked against published test vectors: FNV-1a 32
// from the FNV reference test suite (isthe.com/chongo/tech/comp/fnv, test_fnv.c), murmur3's finalizer
// through MurmurHash3_x86_32 of the empty input, which is fmix32(seed) (SMHasher's verification values).
import { test } from "node:test";
import assert from "node:assert/strict";
import { fmix32, fnv1a32, HUE_SLOTS, protocolColor, protocolHue, protocolStyle } from "../build-test/lib/protocolColor.js";

test("FNV-1a 32 matches the reference vectors", () => {
  assert.equal(fnv1a32(""), 0x811c9dc5);
  assert.equal(fnv1a32("a"), 0xe40c292c);
  assert.equal(fnv1a32("foobar"), 0xbf9cf968);
});

test("fmix32 matches MurmurHash3_x86_32 of the empty input", () => {
  assert.equal(fmix32(0), 0);
  assert.equal(fmix32(1), 0x514e28b7);
  assert.equal(fmix32(0xffffffff), 0x81f16f39);
});

test("every name gets one of the slot hues, the same every time", () => {
  const seen = new Set();
  for (let i = 0; i < 500; i++) {
    const name = `proto-${i}`;
    const hue = protocolHue(name);
    assert.equal(hue, protocolHue(name));
    assert.ok(Number.isInteger(hue / (360 / HUE_SLOTS)) && hue >= 0 && hue < 360, `${name}: ${hue}`);
    seen.add(hue);
  }
  assert.equal(seen.size, HUE_SLOTS, "500 names use every slot");
  assert.equal(protocolHue(""), (fmix32(fnv1a32("")) % HUE_SLOTS) * 30);
});

test("the badge style and the chart colour carry the hue", () => {
  const hue = protocolHue("anything-new");
  assert.deepEqual(protocolStyle("anything-new"), { "--proto-hue": String(hue) });
  assert.equal(protocolColor("anything-new"), `hsl(${hue} 70% 50%)`);
});
