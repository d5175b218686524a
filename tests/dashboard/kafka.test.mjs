// The Kafka renderer in Chromium: the Kafka golden capture (node-agent/tests/golden/kafka, recorded
// from a real broker and kafka-python producers and consumers) served by a real hub. Every expectation
// comes from a separate `kubectl-shark view -o json` run on the same file (the oracle). The records'
// values hold HTML (`<b>&amp;</b>`): it must show as text, never as markup.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { openCapture, OUT, REPO } from "./lib.mjs";

const CAPTURE = path.join(REPO, "node-agent/tests/golden/kafka/calls.pcap");

let bench;
let page;
let entries;

before(async () => {
  bench = await openCapture(CAPTURE);
  ({ entries, page } = bench);
});

after(() => bench?.close());

const open = (id) => bench.open(id);

const text = async (loc) => (await loc.textContent()).trim();

function recordsOf(msg) {
  const out = [];
  for (const t of msg?.topic_data ?? []) {
    for (const p of t.partitions ?? []) {
      for (const b of p.records?.batches ?? []) for (const r of b.records) out.push(r);
    }
  }
  return out;
}

test("the golden capture has Produce and Fetch entries with records", () => {
  assert.ok(entries.every((e) => e.protocol === "kafka"));
  assert.equal(entries.filter((e) => e.request.api === "Produce").length, 4);
  assert.ok(entries.some((e) => e.request.api === "Fetch" && recordsOf(e.response).length > 0));
});

test("a Kafka entry shows its API, version, correlation id, client, topics and each record as text", async () => {
  const shown = entries.filter((e) => e.request.api === "Produce" || (e.request.api === "Fetch" && e.response));
  for (const e of shown) {
    await open(e.id);
    const head = await text(page.getByTestId("kafka-api"));
    for (const part of [e.request.api, `v${e.request.api_version}`, String(e.request.correlation_id), e.request.client_id]) {
      assert.ok(head.includes(part), `${head} lacks ${part}`);
    }
    const topics = page.getByTestId("kafka-request-topic");
    assert.equal(await topics.count(), e.request.topic_data.length);
    for (let i = 0; i < e.request.topic_data.length; i++) {
      assert.ok((await text(topics.nth(i).locator("h4"))).includes(e.request.topic_data[i].name));
    }
    const want = recordsOf(e.request.api === "Produce" ? e.request : e.response);
    const rows = page.locator('[data-testid="kafka-records"] tbody tr');
    assert.equal(await rows.count(), want.length);
    for (let i = 0; i < want.length; i++) {
      const cells = rows.nth(i).locator("td");
      assert.equal(await text(cells.nth(0)), String(want[i].offset));
      assert.equal(await text(cells.nth(2)), want[i].key);
      assert.equal(await text(cells.nth(3)), want[i].value.trim());
      assert.ok(want[i].value.includes("<b>&amp;</b>"));
    }
    // Wire text with markup in it is escaped: no element came from a record.
    assert.equal(await page.locator('[data-testid="kafka-records"] td b').count(), 0);
    await page.screenshot({ path: path.join(OUT, `renderer-kafka-${e.request.api}-${e.id}.png`) });
  }
});

test("a response's error shows by name", async () => {
  const e = entries.find((x) => x.status === "TOPIC_ALREADY_EXISTS");
  assert.ok(e);
  await open(e.id);
  const detail = page.locator(`[data-testid="detail"][data-id="${e.id}"]`);
  assert.ok((await text(detail)).includes("TOPIC_ALREADY_EXISTS"));
});
