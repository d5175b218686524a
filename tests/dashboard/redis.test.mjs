// The Redis renderer in Chromium: the golden capture (node-agent/tests/golden/redis, recorded from
// redis-server 7 with redis-py and redis-cli) served by a real hub. Every expectation comes from a separate
// `kubectl-shark view -o json` run on the same file (the oracle): the command line shows the command and its
// words, the reply its status, type, exact size and value; a value with HTML and script in it is shown as
// text, not markup; the AUTH password stays redacted.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { openCapture, REPO } from "./lib.mjs";

const CAPTURE = path.join(REPO, "node-agent/tests/golden/redis/commands.pcap");

let bench;
let page;
let entries;

before(async () => {
  bench = await openCapture(CAPTURE);
  ({ entries, page } = bench);
});

after(() => bench?.close());

const open = (id) => bench.open(id);

function detail(id, testid) {
  return page.locator(`[data-testid="detail"][data-id="${id}"] [data-testid="${testid}"]`);
}

test("a SET with HTML in its value: the command line as text, nothing injected", async () => {
  const e = entries.find((x) => x.summary === "SET greeting");
  assert.ok(e, "SET greeting in the oracle");
  await open(e.id);
  const value = e.request.args[1];
  assert.match(value, /<script>/);
  const line = await detail(e.id, "redis-command").textContent();
  assert.equal(line, `SET greeting ${JSON.stringify(value)}`);
  assert.equal(await detail(e.id, "redis-key").textContent(), e.request.key);
  // The wire's <b> and <script> are text: no such elements were created from it.
  const injected = await page.locator(`[data-testid="detail"][data-id="${e.id}"] .detail-body script, [data-testid="detail"][data-id="${e.id}"] .detail-body b:text("world")`).count();
  assert.equal(injected, 0);
  assert.equal(await detail(e.id, "redis-status").textContent(), e.status);
  assert.equal(await detail(e.id, "redis-reply").textContent(), e.response.value);
});

test("a GET of that value shows the reply's bytes as text", async () => {
  const e = entries.find((x) => x.summary === "GET greeting");
  await open(e.id);
  assert.equal(await detail(e.id, "redis-reply").textContent(), e.response.value);
  const head = await page.locator(`[data-testid="detail"][data-id="${e.id}"] .startline`).nth(1).textContent();
  assert.match(head, new RegExp(`${e.response.type}`));
  assert.match(head, new RegExp(`${e.response.size} B`));
});

test("an error reply shows its code, and a null reply (nil)", async () => {
  const err = entries.find((x) => x.status === "WRONGTYPE");
  await open(err.id);
  assert.equal(await detail(err.id, "redis-status").textContent(), "WRONGTYPE");
  assert.equal(await detail(err.id, "redis-reply").textContent(), err.response.value);
  const nil = entries.find((x) => x.summary === "GET missing");
  await open(nil.id);
  assert.equal(nil.response.value, null);
  assert.equal(await detail(nil.id, "redis-reply").textContent(), "(nil)");
});

test("the AUTH password stays redacted", async () => {
  const e = entries.find((x) => x.summary === "AUTH");
  await open(e.id);
  assert.deepEqual(e.request.args, ["[REDACTED]"]);
  assert.equal(await detail(e.id, "redis-command").textContent(), "AUTH [REDACTED]");
  const html = await page.content();
  assert.ok(!html.includes("golden-secret-password"));
});
