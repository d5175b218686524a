// Frame times of the dashboard with 100k+ entries listed, as a measurement (reported, never asserted):
// while rows stream in, and while scrolling the full list. The only assertions are structural: the list
// really holds 100k rows and only the visible ones are in the DOM.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import path from "node:path";
import { HERE, launch, OUT, percentiles, startHub } from "./lib.mjs";

const ENTRIES = Number(process.env.PERF_ENTRIES ?? 150_000);
const capture = path.join(OUT, `perf-${ENTRIES}.pcap`);
let hub;
let browser;

after(async () => {
  await browser?.close();
  await hub?.stop();
});

test(`frame times with ${ENTRIES} entries (measurement)`, { timeout: 600_000 }, async () => {
  if (!existsSync(capture)) execFileSync("node", [path.join(HERE, "gen-capture.mjs"), capture, String(ENTRIES)]);
  browser = await launch();
  const page = await browser.newPage({ viewport: { width: 1500, height: 900 } });
  // Record every frame's interval from the first script on, tagged with the number of rows listed.
  await page.addInitScript(() => {
    const frames = [];
    window.__frames = frames;
    let last = performance.now();
    const tick = (now) => {
      const rows = Number(document.querySelector('[data-testid="list"]')?.getAttribute("data-rows") ?? 0);
      frames.push([now - last, rows, window.__phase ?? "arriving"]);
      last = now;
      requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  });
  hub = await startHub(capture);
  await page.goto(hub.url);
  await page.waitForFunction(
    () => Number(document.querySelector('[data-testid="list"]')?.getAttribute("data-rows") ?? 0) >= 100_000,
    null,
    { timeout: 300_000 },
  );
  // Let the stream settle: no new rows for 20 consecutive frames.
  await page.waitForFunction(() => {
    const f = window.__frames;
    if (f.length < 20) return false;
    const tail = f.slice(-20);
    return tail.every((x) => x[1] === tail[0][1]);
  }, null, { timeout: 300_000, polling: 100 });
  const listed = Number(await page.getByTestId("list").getAttribute("data-rows"));
  assert.ok(listed >= 100_000, `${listed} rows listed`);
  const domRows = await page.locator(".row").count();
  assert.ok(domRows > 0 && domRows < 200, `${domRows} rows in the DOM for ${listed} listed: the list is not virtualized`);

  // Scroll through the whole list in 300 steps, one step per frame, then jump around.
  await page.evaluate(async () => {
    window.__phase = "scrolling";
    const box = document.querySelector('[data-testid="list"]');
    const frame = () => new Promise((r) => requestAnimationFrame(r));
    for (let i = 0; i <= 300; i++) {
      box.scrollTop = (box.scrollHeight - box.clientHeight) * (1 - i / 300);
      await frame();
    }
    for (let i = 0; i < 100; i++) {
      box.scrollTop = ((i * 7919) % 100) / 100 * box.scrollHeight;
      await frame();
    }
    window.__phase = "done";
  });
  const frames = await page.evaluate(() => window.__frames);
  const phase = (name, pred = () => true) => percentiles(frames.filter((f) => f[2] === name && pred(f)).map((f) => f[0]));
  const result = {
    entries_in_capture: ENTRIES,
    listed,
    dom_rows: domRows,
    frame_ms: {
      while_rows_arrive: phase("arriving", (f) => f[1] > 0),
      while_rows_arrive_with_100k_listed: phase("arriving", (f) => f[1] >= 100_000),
      scrolling_full_list: phase("scrolling"),
    },
  };
  await page.screenshot({ path: path.join(OUT, "perf-list.png") });
  writeFileSync(path.join(OUT, "perf.json"), JSON.stringify(result, null, 2));
  console.log(`dashboard frame times (ms): ${JSON.stringify(result, null, 2)}`);
});
