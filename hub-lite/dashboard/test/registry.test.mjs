// The protocol renderer registry: lookups by entry protocol name, and the raw fallback for names without
// a renderer, so an unknown protocol still shows its request and response.
import { test } from "node:test";
import assert from "node:assert/strict";
import { RAW, registerRenderer, rendererFor } from "../build-test/protocols/registry.js";

test("a registered renderer is found by its name, others get the raw one", () => {
  const mine = { Detail: () => null, canCopyAsCurl: true };
  registerRenderer("test-proto", mine);
  assert.equal(rendererFor("test-proto"), mine);
  assert.equal(rendererFor("never-registered"), RAW);
  assert.equal(rendererFor("constructor"), RAW);
  assert.equal(RAW.canCopyAsCurl, undefined);
  const other = { Detail: () => null };
  registerRenderer("test-proto", other);
  assert.equal(rendererFor("test-proto"), other, "a later registration replaces an earlier one");
});

test("the raw renderer shows the request and response as JSON", () => {
  const e = { request: { a: 1 }, response: null };
  // RAW.Detail returns a vnode of the Section component whose child is a <pre> with the JSON.
  const section = RAW.Detail({ e, onAdd() {} });
  assert.equal(section.props.title, "Raw");
  const pre = section.props.children;
  assert.equal(pre.type, "pre");
  assert.equal(pre.props.children, JSON.stringify({ request: e.request, response: e.response }, null, 2));
});
