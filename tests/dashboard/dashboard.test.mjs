// The dashboard in Chromium against a real hub serving samples/demo.pcapng. Every expectation comes
// from an independent source: a separate `kubectl-shark view -o json` run, tshark on the original
// capture, bash for the curl command.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { api, DEMO, epochSeconds, launch, listedIds, OUT, oracle, simpleMatch, startHub, waitForCount } from "./lib.mjs";

let hub;
let browser;
let context;
let page;
let entries;

before(async () => {
  entries = oracle(DEMO);
  assert.ok(entries.length > 50, `the demo capture has ${entries.length} entries`);
  hub = await startHub(DEMO);
  browser = await launch();
  context = await browser.newContext({ viewport: { width: 1500, height: 900 }, acceptDownloads: true });
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: new URL(hub.base).origin });
  page = await context.newPage();
  await page.goto(hub.url);
  await waitForCount(page, entries.length);
});

after(async () => {
  await browser?.close();
  await hub?.stop();
});

const ids = (list) => list.map((e) => e.id);

test("the list shows every entry of the capture, in order, with its summary and status", async () => {
  assert.deepEqual(await listedIds(page), ids(entries));
  // The token left the address bar once the cookie was set.
  assert.ok(!page.url().includes("token="), page.url());
  // Spot-check the cells of a few rows against the oracle.
  for (const e of [entries[0], entries[Math.floor(entries.length / 2)], entries[entries.length - 1]]) {
    await scrollToRow(e.id);
    const row = page.locator(`.row[data-id="${e.id}"]`);
    const text = await row.innerText();
    // The badge is upper-cased by CSS, and innerText reports what is shown.
    assert.ok(text.toLowerCase().includes(e.protocol), text);
    const shown = e.protocol === "http" ? e.request.path : e.summary;
    assert.ok(text.includes(shown), `${text} lacks ${shown}`);
    assert.ok(text.includes(e.status ?? "—"), `${text} lacks ${e.status}`);
    const addr = (ep) => (ep.ip.includes(":") ? `[${ep.ip}]:${ep.port}` : `${ep.ip}:${ep.port}`);
    assert.ok(text.includes(addr(e.src)) && text.includes(addr(e.dst)), text);
  }
  await page.screenshot({ path: path.join(OUT, "list.png") });
});

async function scrollToRow(id) {
  const idx = entries.findIndex((e) => e.id === id);
  await page.evaluate((i) => {
    const box = document.querySelector('[data-testid="list"]');
    box.scrollTop = Math.max(0, i * 22 - 100);
  }, idx);
  await page.locator(`.row[data-id="${id}"]`).waitFor();
}

for (const filter of ["http and response.status == 404", 'dns and response.rcode == "NXDOMAIN"', "http and request.method == \"HEAD\""]) {
  test(`typing \`${filter}\` narrows the list to exactly the matching entries`, async () => {
    const want = ids(entries.filter((e) => simpleMatch(e, filter)));
    assert.ok(want.length > 0, "the filter should match something in the demo capture");
    const input = page.getByTestId("filter");
    await input.fill(filter);
    await input.press("Enter");
    await waitForCount(page, want.length, filter);
    assert.deepEqual(await listedIds(page), want);
    assert.equal(new URL(page.url()).searchParams.get("q"), filter);
  });
}

test("a ?q= address opens with the filter applied (reload and sharing)", async () => {
  const filter = "http and response.status == 204";
  const want = ids(entries.filter((e) => simpleMatch(e, filter)));
  const p = await context.newPage();
  await p.goto(`${hub.base}?q=${encodeURIComponent(filter)}`);
  await waitForCount(p, want.length, filter);
  assert.deepEqual(await listedIds(p), want);
  assert.equal(await p.getByTestId("filter").inputValue(), filter);
  await p.close();
});

test("a syntax error is shown while typing, at the column the hub reports", async () => {
  const bad = "http and response.status >= ";
  const check = await (await api(hub, `api/v1/filter/check?q=${encodeURIComponent(bad)}`)).json();
  assert.equal(check.ok, false);
  await page.getByTestId("filter").fill(bad);
  const err = page.getByTestId("filter-error");
  await err.waitFor();
  assert.equal(await err.getAttribute("data-column"), String(check.column));
  assert.ok((await err.innerText()).includes(check.error));
  // Clearing the filter brings every entry back.
  await page.getByTestId("filter").fill("");
  await page.getByTestId("filter").press("Enter");
  await waitForCount(page, entries.length);
});

test("only filters the hub compiled go into the history and the address", async () => {
  const history = () => page.evaluate(() => JSON.parse(localStorage.getItem("kubectl-shark.filter-history") ?? "[]"));
  const bad = "http and response.status >= ";
  await page.getByTestId("filter").fill(bad);
  await page.getByTestId("filter").press("Enter");
  await page.getByTestId("filter-error").waitFor();
  assert.ok(!(await history()).includes(bad.trim()), "a refused filter is not remembered");
  assert.ok(!(new URL(page.url()).searchParams.get("q") ?? "").includes(">="), "nor put in the address");
  const good = "dns";
  await page.getByTestId("filter").fill(good);
  await page.getByTestId("filter").press("Enter");
  await waitForCount(page, entries.filter((e) => e.protocol === "dns").length, good);
  assert.equal((await history())[0], good);
  assert.equal(new URL(page.url()).searchParams.get("q"), good);
  await page.getByTestId("filter").fill("");
  await page.getByTestId("filter").press("Enter");
  await waitForCount(page, entries.length);
});

test("the detail overview says each thing once", async () => {
  // An entry without names (the demo capture has none), answered in under a millisecond, small.
  const e = entries.find((x) => x.elapsed_us != null && x.elapsed_us < 1000 && x.request_size < 1000 && x.response_size < 1000);
  assert.ok(e, "the demo capture has a small, fast exchange");
  await scrollToRow(e.id);
  await page.locator(`.row[data-id="${e.id}"] .c-summary`).click();
  const overview = page.locator(`[data-testid="detail"][data-id="${e.id}"] table.kv`).first();
  await overview.waitFor();
  const rows = Object.fromEntries(await overview.locator("tr").evaluateAll((trs) =>
    trs.map((tr) => {
      const td = tr.querySelector("td").cloneNode(true);
      for (const b of td.querySelectorAll(".plus")) b.remove();
      return [tr.querySelector("th").textContent, td.textContent.trim()];
    }),
  ));
  assert.equal(rows.client, `${e.src.ip}:${e.src.port}`);
  assert.equal(rows.server, `${e.dst.ip}:${e.dst.port}`);
  assert.equal(rows.elapsed, `${e.elapsed_us}µs`);
  assert.equal(rows["request size"], `${e.request_size} B`);
  assert.equal(rows["response size"], `${e.response_size} B`);
  // A rounded value keeps the exact one beside it.
  const big = entries.find((x) => x.response_size >= 1000 && x.elapsed_us != null && x.elapsed_us >= 1000);
  assert.ok(big, "the demo capture has a large, slower exchange");
  await scrollToRow(big.id);
  await page.locator(`.row[data-id="${big.id}"] .c-summary`).click();
  const bigOverview = page.locator(`[data-testid="detail"][data-id="${big.id}"] table.kv`).first();
  await bigOverview.waitFor();
  const text = await bigOverview.innerText();
  assert.ok(text.includes(`(${big.response_size} B)`), text);
  assert.ok(text.includes(`(${big.elapsed_us} µs)`), text);
});

test("the detail pane shows the headers and the pretty-printed JSON body", async () => {
  const e = entries.find((x) => x.protocol === "http" && x.response?.body?.mime === "application/json" && x.response.body.text);
  assert.ok(e, "the demo capture has a JSON response");
  await scrollToRow(e.id);
  await page.locator(`.row[data-id="${e.id}"] .c-summary`).click();
  const headers = page.getByTestId("response-headers");
  await headers.waitFor();
  const rows = await headers.locator("tr").evaluateAll((trs) =>
    trs.map((tr) => [tr.querySelector("th").textContent, tr.querySelector("td").firstChild.textContent]),
  );
  assert.deepEqual(rows, e.response.headers);
  const reqRows = await page.getByTestId("request-headers").locator("tr").evaluateAll((trs) =>
    trs.map((tr) => [tr.querySelector("th").textContent, tr.querySelector("td").firstChild.textContent]),
  );
  assert.deepEqual(reqRows, e.request.headers);
  const body = page.getByTestId("response-body");
  assert.equal(await body.getAttribute("data-kind"), "json");
  assert.equal(await body.locator("pre").innerText(), JSON.stringify(JSON.parse(e.response.body.text), null, 2));
  await page.screenshot({ path: path.join(OUT, "detail.png") });
});

test("copy as curl gives a command that bash parses into the captured request", async () => {
  const e = entries.find((x) => x.protocol === "http" && x.request.method === "GET");
  await scrollToRow(e.id);
  await page.locator(`.row[data-id="${e.id}"] .c-summary`).click();
  await page.getByTestId("copy-curl").click();
  await page.getByTestId("copied").waitFor();
  const cmd = await page.evaluate(() => navigator.clipboard.readText());
  const script = `curl() { printf '%s\\0' "$@"; }\n${cmd}\n`;
  const args = execFileSync("bash", ["-c", script], { encoding: "utf8" }).split("\0").slice(0, -1);
  const host = e.request.headers.find(([k]) => k.toLowerCase() === "host")[1];
  const want = ["-X", "GET", `http://${host}${e.request.path}`];
  for (const [k, v] of e.request.headers) want.push("-H", `${k}: ${v}`);
  if (e.request.version === "HTTP/1.0") want.push("--http1.0");
  assert.deepEqual(args, want);
});

test("the connection pcap opens in tshark with the connection's packets", async () => {
  const e = entries.find((x) => x.protocol === "http" && x.transport === "tcp");
  await scrollToRow(e.id);
  await page.locator(`.row[data-id="${e.id}"] .c-summary`).click();
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByTestId("download-pcap").click()]);
  const file = path.join(OUT, `${e.id}.pcapng`);
  await download.saveAs(file);
  const count = (f, filter) =>
    execFileSync("tshark", ["-r", f, "-Y", filter, "-T", "fields", "-e", "frame.number"], { encoding: "utf8" })
      .split("\n").filter((l) => l.trim() !== "").length;
  // Oracle: the original capture's packets of this connection, within the window docs/api.md promises
  // (first request byte − 1 s … last response byte + 1 s).
  const start = epochSeconds(e.ts);
  const end = start + (e.elapsed_us ?? 0) / 1e6;
  const conn = `tcp.port == ${e.src.port} && ip.addr == ${e.src.ip} && ip.addr == ${e.dst.ip}`;
  const want = count(DEMO, `${conn} && frame.time_epoch >= ${(start - 1).toFixed(6)} && frame.time_epoch <= ${(end + 1).toFixed(6)}`);
  assert.ok(want > 0);
  assert.equal(count(file, "frame"), want, "packets in the downloaded pcap");
  assert.equal(count(file, conn), want, "all of them belong to the connection");
});

test("the HAR export of the current filter parses and has the HTTP entries", async () => {
  await page.getByTestId("filter").fill("http");
  await page.getByTestId("filter").press("Enter");
  const http = entries.filter((e) => e.protocol === "http");
  await waitForCount(page, http.length, "http");
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByTestId("export-har").click()]);
  const file = path.join(OUT, "export.har");
  await download.saveAs(file);
  const har = JSON.parse(readFileSync(file, "utf8"));
  assert.equal(har.log.version, "1.2");
  assert.equal(har.log.entries.length, http.length);
  const urls = har.log.entries.map((x) => new URL(x.request.url)).map((u) => u.pathname + u.search).sort();
  assert.deepEqual(urls, http.map((e) => e.request.path).sort());
  // The pcap export of the same filter opens in tshark and holds HTTP.
  const [pcap] = await Promise.all([page.waitForEvent("download"), page.getByTestId("export-pcap").click()]);
  const pf = path.join(OUT, "export.pcapng");
  await pcap.saveAs(pf);
  // tshark joins the URIs of several requests in one frame (pipelining) with commas; no path of
  // the demo capture has a comma of its own (checked, so the split cannot hide a difference).
  assert.ok(http.every((e) => !e.request.path.includes(",")));
  const reqs = execFileSync("tshark", ["-r", pf, "-Y", "http.request", "-T", "fields", "-e", "http.request.uri"], { encoding: "utf8" })
    .split(/[\n,]/).filter(Boolean).sort();
  assert.deepEqual(reqs, http.map((e) => e.request.path).sort());
  await page.getByTestId("filter").fill("");
  await page.getByTestId("filter").press("Enter");
  await waitForCount(page, entries.length);
});

// docs/api.md: a server without names is ip:port, an IPv6 address in brackets.
const serverNode = (e) => (e.dst.ip.includes(":") ? `[${e.dst.ip}]:${e.dst.port}` : `${e.dst.ip}:${e.dst.port}`);

test("the service map has a node per client address and per server address:port", async () => {
  await page.locator('[data-view="map"]').click();
  await page.getByTestId("service-map").waitFor();
  const want = new Set();
  for (const e of entries) {
    want.add(e.src.ip);
    // docs/api.md: servers are ip:port, IPv6 addresses in brackets.
    want.add(serverNode(e));
  }
  const nodes = await page.locator("[data-node]").evaluateAll((els) => els.map((el) => el.getAttribute("data-node")));
  assert.deepEqual(new Set(nodes), want);
  // Hovering a node shows its numbers.
  const server = [...want].find((n) => n.endsWith(":80"));
  await page.locator(`[data-node="${server}"]`).hover();
  const info = await page.getByTestId("map-info").innerText();
  const incoming = entries.filter((e) => serverNode(e) === server).length;
  assert.ok(info.includes(String(incoming)), `${info} should show ${incoming} entries in`);
  await page.screenshot({ path: path.join(OUT, "service-map.png") });
});

test("the stats view counts statuses like the oracle", async () => {
  await page.locator('[data-view="stats"]').click();
  const bars = page.getByTestId("status-bars");
  await bars.waitFor();
  const shown = Object.fromEntries(
    await bars.locator(".bar-row").evaluateAll((rs) =>
      rs.map((r) => [r.querySelector(".bar-label").textContent, Number(r.querySelector(".bar-value").textContent.replace(/,/g, ""))]),
    ),
  );
  const want = {};
  for (const e of entries) want[e.status ?? "none"] = (want[e.status ?? "none"] ?? 0) + 1;
  assert.deepEqual(shown, want);
  // The outcomes, counted from the oracle's entries (outcomes without entries have no bar).
  const outcomeBars = page.getByTestId("outcome-bars");
  const shownOutcomes = Object.fromEntries(
    await outcomeBars.locator(".bar-row").evaluateAll((rs) =>
      rs.map((r) => [r.querySelector(".bar-label").textContent, Number(r.querySelector(".bar-value").textContent.replace(/,/g, ""))]),
    ),
  );
  const wantOutcomes = {};
  for (const e of entries) wantOutcomes[e.outcome] = (wantOutcomes[e.outcome] ?? 0) + 1;
  assert.deepEqual(shownOutcomes, wantOutcomes);
  await page.getByTestId("chart-entries").waitFor();
  await page.screenshot({ path: path.join(OUT, "stats.png") });
  await page.locator('[data-view="health"]').click();
  await page.getByTestId("health-view").waitFor();
  await page.screenshot({ path: path.join(OUT, "health.png") });
  await page.locator('[data-view="list"]').click();
});

test("without the token there is no traffic: 401 and no rows", async () => {
  const fresh = await browser.newContext();
  const p = await fresh.newPage();
  const res = await p.goto(hub.base);
  assert.ok(res.status() === 401 || res.status() === 200, `status ${res.status()}`);
  await p.waitForFunction(() => /kubectl[ -]shark/.test(document.body.innerText));
  const apiStatus = await p.evaluate(async () => (await fetch("/api/v1/entries")).status);
  assert.equal(apiStatus, 401);
  const text = await p.locator("body").innerText();
  assert.match(text, /kubectl[ -]shark/);
  assert.equal(await p.locator(".row").count(), 0);
  await p.screenshot({ path: path.join(OUT, "unauthorized.png") });
  await fresh.close();
});
