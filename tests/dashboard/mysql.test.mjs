// The MySQL renderer in Chromium: the golden capture (node-agent/tests/golden/mysql, recorded from MariaDB
// with PyMySQL and mysql-connector-python) served by a real hub. Every expectation comes from a separate
// `kubectl-shark view -o json` run on the same file (the oracle). Wire text with HTML in it (a result cell
// holding `<b>&amp;</b>`) must be shown as that text, never as markup.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { openCapture, OUT, REPO } from "./lib.mjs";

const CAPTURE = path.join(REPO, "node-agent/tests/golden/mysql/queries.pcap");

let bench;
let page;
let entries;

before(async () => {
  bench = await openCapture(CAPTURE);
  ({ entries, page } = bench);
});

after(() => bench?.close());

const open = (id) => bench.open(id);

/** The header names and the cell texts of a table. */
async function table(locator) {
  const head = await locator.locator("thead th").allTextContents();
  const rows = await locator.locator("tbody tr").evaluateAll((trs) =>
    trs.map((tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent)),
  );
  return { head, rows };
}

const cell = (v) => (v === null ? "NULL" : String(v));

test("a text result set: the SQL, the columns and the rows as the entry has them", async () => {
  const e = entries.find((x) => x.request.command === "COM_QUERY" && (x.response?.row_count ?? 0) > 1);
  assert.ok(e, "a select with rows");
  await open(e.id);
  assert.equal(await page.getByTestId("mysql-query").textContent(), e.request.query);
  // The SQL is highlighted: its keywords are elements of their own.
  assert.ok((await page.locator('[data-testid="mysql-query"] .sql-keyword').count()) >= 3);
  const t = await table(page.getByTestId("mysql-result"));
  assert.deepEqual(t.head, e.response.columns.map((c) => c.name));
  assert.deepEqual(t.rows, e.response.rows.map((r) => r.map(cell)));
  await page.screenshot({ path: path.join(OUT, "renderer-mysql.png") });
});

test("a prepared execution shows its parameters and its binary rows", async () => {
  const e = entries.find((x) => x.request.command === "COM_STMT_EXECUTE" && x.response?.rows);
  assert.ok(e, "an execution with rows");
  await open(e.id);
  const p = await table(page.getByTestId("mysql-params"));
  assert.deepEqual(p.rows, e.request.params.map((v, i) => [String(i + 1), cell(v)]));
  const t = await table(page.getByTestId("mysql-result"));
  assert.deepEqual(t.rows, e.response.rows.map((r) => r.map(cell)));
});

test("an error shows its code, SQLSTATE and message", async () => {
  for (const e of entries.filter((x) => x.response?.error)) {
    await open(e.id);
    const shown = await page.getByTestId("mysql-error").evaluate((el) => {
      const c = el.cloneNode(true);
      for (const b of c.querySelectorAll(".plus")) b.remove();
      return c.textContent;
    });
    const err = e.response.error;
    assert.ok(shown.includes(`${err.code} (${err.sqlstate})`), shown);
    assert.ok(shown.includes(err.message), shown);
  }
});

test("wire text with HTML in it is shown escaped", async () => {
  const e = entries.find((x) => JSON.stringify(x.response ?? {}).includes("<b>&amp;</b>"));
  assert.ok(e, "the multi-statement result with HTML in a cell");
  await open(e.id);
  const detail = page.locator(`[data-testid="detail"][data-id="${e.id}"]`);
  assert.equal(await detail.locator("table b").count(), 0, "no <b> element made from wire text");
  const cells = await detail.locator("td").allTextContents();
  assert.ok(cells.includes("<b>&amp;</b>"), cells.join(" | "));
  assert.ok((await page.getByTestId("mysql-query").textContent()).includes("'<b>&amp;</b>'"));
});
