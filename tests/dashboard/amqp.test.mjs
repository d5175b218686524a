// The AMQP renderer in Chromium: the golden capture of node-agent/tests/golden/amqp (RabbitMQ 3.10 and
// pika, recorded from real peers) served by a real hub. Every expectation comes from a separate
// `kubectl-shark view -o json` run on the same file (the oracle): the method, channel, sender and
// arguments of each entry, its message's properties and body, the answer (or the close that refused it);
// and a body holding `<script>` is shown as text, not run.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { openCapture, REPO } from "./lib.mjs";

const CAPTURE = path.join(REPO, "node-agent/tests/golden/amqp/conversation.pcap");
let bench;
let page;
let entries;

before(async () => {
  // Counts alert() calls: a script from the wire that ran would call it.
  const setup = (page) =>
    page.addInitScript(() => {
      window.__amqpXss = 0;
      window.alert = () => window.__amqpXss++;
    });
  bench = await openCapture(CAPTURE, { setup });
  ({ entries, page } = bench);
});

after(() => bench?.close());

const open = (id) => bench.open(id);

/** The `[name, value]` rows of a key/value table, without the `+` buttons. */
async function pairs(locator) {
  return locator.locator("tr").evaluateAll((trs) =>
    trs.map((tr) => {
      const td = tr.querySelector("td").cloneNode(true);
      for (const b of td.querySelectorAll(".plus")) b.remove();
      return [tr.querySelector("th").textContent, td.textContent];
    }),
  );
}

const shown = (v) => (typeof v === "string" ? v : JSON.stringify(v));
const argsOf = (m) =>
  Object.entries(m).filter(([k]) => !["method", "channel", "from", "message"].includes(k)).map(([k, v]) => [k, shown(v)]);

test("every AMQP entry shows its method, sender, arguments and answer as view -o json has them", async () => {
  assert.ok(entries.length >= 20 && entries.every((e) => e.protocol === "amqp"));
  for (const e of entries) {
    await open(e.id);
    assert.equal(await page.getByTestId("amqp-method").textContent(), e.request.method);
    assert.equal(await page.getByTestId("amqp-from").textContent(), e.request.from);
    const args = argsOf(e.request);
    if (args.length > 0) assert.deepEqual(await pairs(page.getByTestId("amqp-args")), args, e.summary);
    if (e.response) {
      assert.equal(await page.getByTestId("amqp-answer").textContent(), e.response.method);
      const rargs = argsOf(e.response);
      if (rargs.length > 0) assert.deepEqual(await pairs(page.getByTestId("amqp-answer-args")), rargs, e.summary);
    } else {
      assert.equal(await page.getByTestId("amqp-answer").count(), 0);
    }
  }
});

test("a message shows its properties and body; wire text with HTML/script in it is shown escaped", async () => {
  const scripted = entries.find((e) => e.request.message?.body?.text === "<script>alert(1)</script>");
  assert.ok(scripted, "the golden capture publishes a <script> body");
  await open(scripted.id);
  const body = page.getByTestId("amqp-message-body");
  assert.equal(await body.locator("pre").textContent(), "<script>alert(1)</script>");
  assert.equal(await body.locator("script").count(), 0);
  assert.equal(await page.evaluate(() => window.__amqpXss), 0);
  const withProps = entries.find((e) => e.request.message?.properties?.content_type === "application/json");
  await open(withProps.id);
  const props = Object.entries(withProps.request.message.properties).map(([k, v]) => [k, shown(v)]);
  assert.deepEqual(await pairs(page.getByTestId("amqp-message").locator("table.kv").first()), props);
  const get = entries.find((e) => e.response?.method === "basic.get-ok");
  await open(get.id);
  assert.ok((await page.getByTestId("amqp-answer-message-body").locator("pre").textContent()).length > 0);
});

test("a request refused by channel.close shows the close as its answer", async () => {
  const refused = entries.find((e) => e.request.method === "queue.declare" && e.status === "404");
  await open(refused.id);
  assert.equal(await page.getByTestId("amqp-answer").textContent(), "channel.close");
  assert.ok((await pairs(page.getByTestId("amqp-answer-args"))).some(([k, v]) => k === "reply_code" && v === "404"));
});
