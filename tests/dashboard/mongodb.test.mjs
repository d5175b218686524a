// The MongoDB renderer in Chromium: the golden capture (node-agent/tests/golden/mongodb, FerretDB and
// pymongo) served by a real hub. Every expectation comes from a separate `kubectl-shark view -o json` run
// on the same file (the oracle). The first insert carries `<script>` and `<b>` in a document: it must be
// shown as text, never become markup.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { openCapture, OUT, REPO, waitForCount } from "./lib.mjs";

const CAPTURE = path.join(REPO, "node-agent/tests/golden/mongodb/commands.pcap");

let bench;
let page;
let entries;
let heartbeats;

before(async () => {
  // Driver heartbeats (hello / isMaster) are hidden until the list's chip shows them.
  const isHeartbeat = (e) => ["hello", "isMaster", "ismaster"].includes(e.request?.command);
  bench = await openCapture(CAPTURE, { shown: (all) => all.filter((e) => !isHeartbeat(e)).length });
  ({ entries, page } = bench);
  heartbeats = entries.filter(isHeartbeat);
});

test("heartbeats are hidden by default; the chip counts them and shows them", async () => {
  assert.ok(heartbeats.length >= 1, "pymongo's handshake and monitor sent isMaster/hello");
  const chip = page.getByTestId("hidden-chip");
  assert.equal(await chip.textContent(), `${heartbeats.length} heartbeats hidden · show`);
  for (const e of heartbeats) assert.equal(await page.locator(`.row[data-id="${e.id}"]`).count(), 0);
  // j walks the rows shown, in order, and never lands on a hidden one.
  const shown = entries.filter((e) => !heartbeats.includes(e)).map((e) => e.id);
  await page.locator(`.row[data-id="${shown[0]}"] .c-summary`).click();
  const walked = [];
  for (let i = 0; i < shown.length; i++) {
    const detail = page.getByTestId("detail");
    await detail.waitFor();
    walked.push(await detail.getAttribute("data-id"));
    await page.keyboard.press("j");
    if (i + 1 < shown.length) await page.locator(`[data-testid="detail"][data-id="${shown[i + 1]}"]`).waitFor();
  }
  assert.deepEqual(walked, shown);
  // The last j stayed on the last row shown (not the hidden heartbeat after it): k goes one back.
  await page.keyboard.press("k");
  await page.locator(`[data-testid="detail"][data-id="${shown.at(-2)}"]`).waitFor({ timeout: 5_000 });
  await page.keyboard.press("Escape");
  await chip.click();
  await waitForCount(page, entries.length);
  assert.equal(await page.getByTestId("hidden-chip").textContent(), "hide heartbeats");
});

after(() => bench?.close());

const open = (id) => bench.open(id);

async function text(locator) {
  return locator.evaluate((el) => {
    const c = el.cloneNode(true);
    for (const b of c.querySelectorAll(".plus")) b.remove();
    return c.textContent;
  });
}

test("every MongoDB entry shows its command, namespace, status and documents as the oracle has them", async () => {
  const mongo = entries.filter((e) => e.protocol === "mongodb");
  assert.ok(mongo.length >= 10);
  for (const e of mongo) {
    await open(e.id);
    assert.equal(await text(page.getByTestId("mongo-command")), e.request.command);
    if (e.request.database) assert.equal(await text(page.getByTestId("mongo-database")), e.request.database);
    if (e.request.collection) assert.equal(await text(page.getByTestId("mongo-collection")), e.request.collection);
    assert.deepEqual(JSON.parse(await text(page.getByTestId("mongo-document"))), e.request.document);
    assert.equal(await text(page.getByTestId("mongo-status")), e.status);
    const cursor = e.response?.cursor;
    if (cursor) {
      const batch = cursor.firstBatch ?? cursor.nextBatch;
      assert.deepEqual(JSON.parse(await text(page.getByTestId("mongo-batch"))), batch);
      assert.match(await text(page.getByTestId("mongo-batch-count")), new RegExp(`· ${cursor.count} documents`));
    }
    const { wire, cursor: _c, ...rest } = e.response;
    assert.deepEqual(JSON.parse(await text(page.getByTestId("mongo-reply"))), rest);
  }
});

test("document text with HTML in it is shown escaped", async () => {
  const e = entries.find((x) => x.protocol === "mongodb" && JSON.stringify(x.request).includes("<script>"));
  assert.ok(e, "the capture has a document with <script>");
  await open(e.id);
  const seq = page.getByTestId("mongo-sequence").first();
  assert.deepEqual(JSON.parse(await seq.textContent()), e.request.sequences[0].documents);
  assert.ok((await seq.textContent()).includes("<script>alert('x')</script><b>bold</b>"));
  assert.equal(await page.locator('[data-testid="detail"] script').count(), 0, "no script element was made");
  assert.equal(await page.locator('[data-testid="detail"] pre b').count(), 0, "no <b> element was made");
  await page.screenshot({ path: path.join(OUT, "renderer-mongodb.png") });
});
