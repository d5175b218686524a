// Filter text built from clicked values: strings must round-trip through the filter language's
// escapes (checked here against JSON, whose escapes are a subset for these characters).
import { test } from "node:test";
import assert from "node:assert/strict";
import { addClause, clause, quoteString } from "../build-test/lib/filterText.js";

test("quoted strings escape quotes, backslashes and control characters", () => {
  for (const s of ["web-0", 'a"b', "c:\\dir", "tab\there", "nl\n", "é✓", "\u0001"]) {
    const q = quoteString(s);
    // The filter language accepts \u{..}; JSON needs \u00XX: translate to check the meaning.
    const json = q.replace(/\\u\{([0-9a-f]+)\}/g, (_, h) => "\\u" + h.padStart(4, "0"));
    assert.equal(JSON.parse(json), s);
  }
});

test("clauses: numbers bare, text quoted", () => {
  assert.equal(clause("response.status", 404), "response.status == 404");
  assert.equal(clause("dst.pod", "web-0"), 'dst.pod == "web-0"');
  assert.equal(clause("status", null), "status == null");
});

test("adding to a filter with or wraps it", () => {
  assert.equal(addClause("", 'dst.pod == "x"'), 'dst.pod == "x"');
  assert.equal(addClause("http ", 'dst.pod == "x"'), 'http and dst.pod == "x"');
  assert.equal(addClause("http or dns", "dst.port == 80"), "(http or dns) and dst.port == 80");
  assert.equal(addClause("http || dns", "dst.port == 80"), "(http || dns) and dst.port == 80");
});
