// The PostgreSQL renderer in Chromium: the golden capture (node-agent/tests/golden/postgresql, recorded
// from PostgreSQL 15 with psql and psycopg 3) served by a real hub. Every expectation comes from a
// separate `kubectl-shark view -o json` run on the same file (the oracle): the SQL text, the bound
// parameters, the result table, the error and the position it marks; wire text with HTML in it (a row
// holding "<script>alert(1)</script>") must show as text, never as markup.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { openCapture, REPO } from "./lib.mjs";

const CAPTURE = path.join(REPO, "node-agent/tests/golden/postgresql/session.pcap");

let bench;
let page;
let entries;

before(async () => {
  bench = await openCapture(CAPTURE);
  ({ entries, page } = bench);
});

after(() => bench?.close());

async function open(e) {
  await bench.open(e.id);
  return page.locator(`[data-testid="detail"][data-id="${e.id}"]`);
}

const cell = (v) => (v === null ? "NULL" : String(v));

test("a result set: SQL, columns and rows as the entry has them, HTML shown as text", async () => {
  const e = entries.find((x) => x.status === "SELECT 3");
  assert.ok(e, "the capture has the SELECT 3");
  const d = await open(e);
  assert.equal(await d.locator('[data-testid="pg-sql"]').textContent(), e.request.query);
  const head = await d.locator('[data-testid="pg-rows"] th').allTextContents();
  assert.deepEqual(head, e.response.columns.map((c) => c.name));
  const rows = await d.locator('[data-testid="pg-rows"] tbody tr').evaluateAll((trs) =>
    trs.map((tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent)),
  );
  assert.deepEqual(rows, e.response.rows.map((r) => r.map(cell)));
  assert.ok(rows.flat().includes("<script>alert(1)</script>"), "the row with HTML in it is shown");
  assert.equal(await d.locator("script").count(), 0, "no markup from the wire");
  assert.match(await d.locator('[data-testid="pg-row-count"]').textContent(), new RegExp(`^${e.response.row_count} rows`));
});

test("an error: SQLSTATE, message, and the character at its position marked", async () => {
  const e = entries.find((x) => x.status === "42P01" && x.response.error.position);
  const d = await open(e);
  const err = await d.locator('[data-testid="pg-error"]').textContent();
  assert.ok(err.includes(e.response.error.code) && err.includes(e.response.error.message), err);
  const marked = await d.locator('[data-testid="pg-sql"] [data-pos="error"]').textContent();
  const at = e.response.error.position - 1;
  const q = e.request.query;
  assert.ok(marked.length > 0 && q.includes(marked), marked);
  const start = q.lastIndexOf(marked, at);
  assert.ok(start >= 0 && start <= at && at < start + marked.length, `${marked} covers position ${at + 1}`);
});

test("bound parameters of an extended-protocol Execute", async () => {
  const e = entries.find((x) => Array.isArray(x.request.params) && x.request.params.length >= 4);
  const d = await open(e);
  const shown = await d.locator('[data-testid="pg-params"] tbody tr td:nth-child(2)').allTextContents();
  assert.deepEqual(shown, e.request.params.map(cell));
});
