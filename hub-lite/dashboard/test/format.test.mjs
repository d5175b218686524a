// Status colours come from the entry's outcome (docs/entry.md), never from the status text.
import { test } from "node:test";
import assert from "node:assert/strict";
import { OUTCOME_CLASSES, outcomeClass } from "../build-test/lib/format.js";

test("each outcome of docs/entry.md has its class", () => {
  const want = { ok: "st-ok", client_error: "st-client", server_error: "st-server", error: "st-error", no_response: "st-none" };
  for (const [outcome, cls] of Object.entries(want)) assert.equal(outcomeClass(outcome), cls, outcome);
  assert.deepEqual([...OUTCOME_CLASSES.keys()], Object.keys(want));
});

test("unknown, absent and hostile outcomes get no class", () => {
  for (const o of [undefined, null, "", "OK", "500", "constructor", "toString", "__proto__"]) {
    assert.equal(outcomeClass(o), "", String(o));
  }
});
