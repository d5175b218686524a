// The protocol renderers in Chromium: an HTTP/2 exchange, gRPC calls and WebSocket messages from the golden
// captures (node-agent/tests/golden/{http,grpc,websocket}, recorded from real servers), merged by mergecap
// into one file and served by a real hub. Every expectation comes from a separate
// `kubectl-shark view -o json` run on the same file (the oracle), from Buffer for bytes, from bash for the
// curl command's words, and from a real HTTP/2 server that curl itself talks to.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import http2 from "node:http2";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { launch, OUT, oracle, REPO, startHub, waitForCount } from "./lib.mjs";

const GOLDEN = path.join(REPO, "node-agent/tests/golden");
const CAPTURES = ["http/h2c.pcap", "grpc/calls.pcap", "websocket/handoff-plain.pcap", "websocket/handoff-deflate.pcap"];
const ROW_HEIGHT = 22;

let dir;
let merged;
let hub;
let browser;
let context;
let page;
let entries;

before(async () => {
  for (const c of CAPTURES) assert.ok(existsSync(path.join(GOLDEN, c)), `golden capture ${c} missing`);
  dir = mkdtempSync(path.join(tmpdir(), "shark-renderers-"));
  merged = path.join(dir, "protocols.pcapng");
  execFileSync("mergecap", ["-w", merged, ...CAPTURES.map((c) => path.join(GOLDEN, c))]);
  entries = oracle(merged);
  hub = await startHub(merged);
  browser = await launch();
  context = await browser.newContext({ viewport: { width: 1500, height: 1500 } });
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: new URL(hub.base).origin });
  page = await context.newPage();
  await page.goto(hub.url);
  await waitForCount(page, entries.length);
});

after(async () => {
  await browser?.close();
  await hub?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Clicks the row of entry `id` in the unfiltered list (rows are in the oracle's order) and waits for
 * its detail. */
async function open(id, list = entries) {
  const idx = list.findIndex((e) => e.id === id);
  assert.ok(idx >= 0, `${id} is in the list`);
  await page.evaluate((top) => {
    document.querySelector('[data-testid="list"]').scrollTop = top;
  }, Math.max(0, idx * ROW_HEIGHT - 100));
  await page.locator(`.row[data-id="${id}"] .c-summary`).click();
  await page.locator(`[data-testid="detail"][data-id="${id}"] .detail-body section`).first().waitFor();
}

/** The text of an element without its `+` buttons (shown on hover only). */
async function text(locator) {
  return locator.evaluate((el) => {
    const c = el.cloneNode(true);
    for (const b of c.querySelectorAll(".plus")) b.remove();
    return c.textContent;
  });
}

/** The `[name, value]` rows of a key/value table. */
async function pairs(locator) {
  return locator.locator("tr").evaluateAll((trs) =>
    trs.map((tr) => {
      const td = tr.querySelector("td").cloneNode(true);
      for (const b of td.querySelectorAll(".plus")) b.remove();
      return [tr.querySelector("th").textContent, td.textContent];
    }),
  );
}

/** The bytes of a hex dump (lib/body.ts's layout: offset, 16 bytes in hex, ASCII). */
function bytesOfHexDump(dump) {
  return Buffer.from(dump.split("\n").map((l) => l.slice(10, 59).replace(/\s+/g, "")).join(""), "hex");
}

/** Checks a body (docs/entry.md: text or base64) as shown by BodyView under `testid`. */
async function checkBody(testid, body) {
  const el = page.getByTestId(testid);
  const kind = await el.getAttribute("data-kind");
  if (body.base64 !== undefined) {
    assert.equal(kind, "hex");
    assert.deepEqual(bytesOfHexDump(await el.locator("pre").innerText()), Buffer.from(body.base64, "base64"));
  } else if (body.text === "") {
    assert.equal(kind, "empty");
  } else {
    let pretty = null;
    try {
      pretty = JSON.stringify(JSON.parse(body.text), null, 2);
    } catch {}
    if (pretty !== null && /^\s*[[{]/.test(body.text)) {
      assert.equal(kind, "json");
      assert.equal(await el.locator("pre").textContent(), pretty);
    } else {
      assert.equal(kind, "text");
      assert.equal(await el.locator("pre").textContent(), body.text);
    }
  }
}

test("the merged capture has HTTP/2, gRPC and WebSocket entries", () => {
  const kinds = new Set(entries.map((e) => (e.protocol === "http" ? `http ${e.request.version}` : e.protocol)));
  for (const k of ["http HTTP/2", "grpc", "websocket", "http HTTP/1.1"]) assert.ok(kinds.has(k), `${k} in ${[...kinds]}`);
});

test("an HTTP/2 entry shows its version, authority, scheme, stream, headers, status and body", async () => {
  const h2 = entries.filter((e) => e.protocol === "http" && e.request.version === "HTTP/2" && e.response);
  assert.ok(h2.length >= 2);
  for (const e of h2) {
    await open(e.id);
    assert.equal(await text(page.getByTestId("request-version")), "HTTP/2");
    assert.equal(await text(page.getByTestId("request-authority")), e.request.authority);
    assert.equal(await text(page.getByTestId("request-scheme")), e.request.scheme);
    assert.equal(await text(page.getByTestId("request-stream")), String(e.request.stream_id));
    assert.deepEqual(await pairs(page.getByTestId("request-headers")), e.request.headers);
    assert.equal(await text(page.getByTestId("response-version")), e.response.version);
    assert.equal(await text(page.getByTestId("response-status")), String(e.response.status));
    assert.deepEqual(await pairs(page.getByTestId("response-headers")), e.response.headers);
    await checkBody("request-body", e.request.body);
    await checkBody("response-body", e.response.body);
    for (const side of ["request", "response"]) {
      const trailers = e[side].trailers ?? [];
      const shown = page.getByTestId(`${side}-trailers`);
      if (trailers.length > 0) assert.deepEqual(await pairs(shown), trailers);
      else assert.equal(await shown.count(), 0);
    }
  }
  const post = h2.find((e) => e.request.method === "POST") ?? h2[0];
  await open(post.id);
  await page.screenshot({ path: path.join(OUT, "renderer-http2.png") });
});

test("copy as curl of an HTTP/2 request is a command real curl sends as the captured request over h2c", async (t) => {
  const e = entries.find((x) => x.protocol === "http" && x.request.version === "HTTP/2" && x.request.method === "POST")
    ?? entries.find((x) => x.protocol === "http" && x.request.version === "HTTP/2");
  await open(e.id);
  await page.getByTestId("copy-curl").click();
  await page.getByTestId("copied").waitFor();
  const cmd = await page.evaluate(() => navigator.clipboard.readText());
  // The words of the command, as bash parses them.
  const args = execFileSync("bash", ["-c", `curl() { printf '%s\\0' "$@"; }\n${cmd}\n`], { encoding: "utf8" }).split("\0");
  assert.ok(args.includes(e.request.scheme === "https" ? "--http2" : "--http2-prior-knowledge"), cmd);
  // Real curl against an HTTP/2-only server (prior knowledge, no HTTP/1, no Upgrade) on the captured
  // authority, when that port is free here.
  const [host, port] = [e.request.authority.replace(/:\d+$/, ""), Number(/:(\d+)$/.exec(e.request.authority)?.[1])];
  const server = http2.createServer();
  const listening = await new Promise((resolve) => {
    server.once("error", () => resolve(false));
    server.listen(port, host, () => resolve(true));
  });
  if (!listening) {
    t.diagnostic(`port ${port} is busy here: the command was only parsed, not run`);
    return;
  }
  try {
    const seen = new Promise((resolve) => {
      server.once("stream", (stream, headers) => {
        const chunks = [];
        stream.on("data", (c) => chunks.push(c));
        stream.on("end", () => {
          stream.respond({ ":status": 204 });
          stream.end();
          resolve({ headers, body: Buffer.concat(chunks) });
        });
      });
    });
    const run = promisify(execFile)("bash", ["-c", `${cmd} -sS -o /dev/null -m 20`]);
    const [{ headers, body }] = await Promise.all([seen, run]);
    assert.equal(headers[":method"], e.request.method);
    assert.equal(headers[":path"], e.request.path);
    assert.equal(headers[":authority"], e.request.authority);
    assert.equal(headers[":scheme"], e.request.scheme);
    for (const [k, v] of e.request.headers) {
      if (k === "content-length" || v === "[REDACTED]") continue;
      assert.equal(headers[k], v, `header ${k}`);
    }
    assert.equal(body.toString("utf8"), e.request.body.text ?? "");
  } finally {
    server.close();
  }
});

test("each gRPC call shows service, method, status, metadata, trailers and every message as JSON", async () => {
  const calls = entries.filter((e) => e.protocol === "grpc");
  assert.ok(calls.length >= 2);
  for (const e of calls) {
    const { request: req, response: res } = e;
    await open(e.id);
    assert.equal(await text(page.getByTestId("grpc-service")), req.service);
    assert.equal(await text(page.getByTestId("grpc-method")), req.method);
    assert.equal(await text(page.getByTestId("grpc-path")), req.path);
    assert.equal(await text(page.getByTestId("grpc-authority")), req.authority);
    assert.equal(await text(page.getByTestId("grpc-stream")), String(req.stream_id));
    assert.deepEqual(await pairs(page.getByTestId("grpc-request-metadata")), req.metadata);
    // The status: its name and its code, in the colour of the outcome.
    const status = await text(page.getByTestId("grpc-status"));
    assert.ok(status.includes(res.status) && status.includes(String(res.code)), `${status} vs ${res.status} ${res.code}`);
    const message = page.getByTestId("grpc-message");
    if (res.message) assert.equal(await text(message), res.message);
    else assert.equal(await message.count(), 0);
    for (const [shown, want] of [["grpc-response-metadata", res.metadata], ["grpc-response-trailers", res.trailers]]) {
      if (want.length > 0) assert.deepEqual(await pairs(page.getByTestId(shown)), want);
      else assert.equal(await page.getByTestId(shown).count(), 0);
    }
    for (const [side, want] of [["request", req.messages], ["response", res.messages]]) {
      const box = page.getByTestId(`grpc-${side}-messages`);
      assert.equal(await box.getAttribute("data-count"), String(want.length));
      const items = box.getByTestId("grpc-message-item");
      assert.equal(await items.count(), want.length);
      for (let i = 0; i < want.length; i++) {
        const m = want[i];
        const item = items.nth(i);
        assert.equal(await item.getAttribute("data-compressed"), String(m.compressed));
        assert.equal(await item.getAttribute("data-size"), String(m.size));
        const label = await text(item.getByTestId("grpc-message-label"));
        if (m.json !== undefined) {
          assert.equal(label, m.type);
          assert.deepEqual(JSON.parse(await item.locator("pre").textContent()), m.json);
        } else if (m.raw !== undefined) {
          assert.match(label, /^schema-less \(field numbers\)/);
          assert.deepEqual(JSON.parse(await item.locator("pre").textContent()), m.raw);
        } else {
          assert.deepEqual(bytesOfHexDump(await item.locator("pre").innerText()), Buffer.from(m.base64, "base64"));
        }
      }
    }
    await page.screenshot({ path: path.join(OUT, `renderer-grpc-${res.status}-${e.id}.png`) });
  }
  // gRPC calls are not HTTP exchanges: no copy as curl.
  assert.equal(await page.getByTestId("copy-curl").count(), 0);
});

test("each WebSocket message shows its direction, opcode, frames, compression, payload and Close", async () => {
  const messages = entries.filter((e) => e.protocol === "websocket");
  assert.ok(messages.some((e) => e.request.body.base64) && messages.some((e) => e.request.close));
  assert.ok(messages.some((e) => e.request.compressed) && messages.some((e) => e.request.frames > 1));
  const shots = new Set();
  for (const e of messages) {
    const m = e.request;
    await open(e.id);
    const dir = page.getByTestId("ws-direction");
    assert.equal(await dir.getAttribute("data-from"), m.from);
    assert.equal(await text(dir), m.from === "client" ? "client → server" : "server → client");
    assert.equal(await text(page.getByTestId("ws-opcode")), m.opcode);
    assert.equal(await text(page.getByTestId("ws-frames")), String(m.frames));
    assert.equal((await text(page.getByTestId("ws-compressed"))).startsWith("yes"), m.compressed);
    assert.equal(await page.getByTestId("ws-handshake").getAttribute("data-handshake"), m.handshake);
    await checkBody("ws-payload", m.body);
    const close = page.getByTestId("ws-close");
    if (m.close) {
      const t = await text(close);
      for (const part of [m.close.code, m.close.name, m.close.reason]) if (part != null) assert.ok(t.includes(String(part)), t);
    } else {
      assert.equal(await close.count(), 0);
    }
    // One screenshot per kind of message.
    const kind = `${m.opcode}${m.compressed ? "-deflate" : ""}`;
    if (!shots.has(kind) && ["text", "binary", "close", "text-deflate"].includes(kind)) {
      shots.add(kind);
      await page.screenshot({ path: path.join(OUT, `renderer-websocket-${kind}.png`) });
    }
  }
});

test("a WebSocket message opens its handshake, from the list and when the list is filtered to messages", async () => {
  const m = entries.find((e) => e.protocol === "websocket" && e.request.handshake);
  const handshake = entries.find((e) => e.id === m.request.handshake);
  assert.equal(handshake.response.status, 101);
  await open(m.id);
  await page.getByTestId("ws-handshake").click();
  await page.locator(`[data-testid="detail"][data-id="${handshake.id}"] [data-testid="response-status"]`).waitFor();
  assert.equal(await text(page.getByTestId("response-status")), "101");
  assert.equal(await page.locator(".row.selected").getAttribute("data-id"), handshake.id);
  // With only WebSocket messages listed, the handshake is fetched from the hub.
  await page.getByTestId("filter").fill("websocket");
  await page.getByTestId("filter").press("Enter");
  const listed = entries.filter((e) => e.protocol === "websocket");
  await waitForCount(page, listed.length, "websocket");
  await open(m.id, listed);
  await page.getByTestId("ws-handshake").click();
  await page.locator(`[data-testid="detail"][data-id="${handshake.id}"] [data-testid="response-status"]`).waitFor();
  assert.deepEqual(await pairs(page.getByTestId("request-headers")), handshake.request.headers);
  assert.equal(await page.locator(".row.selected").count(), 0);
  await page.screenshot({ path: path.join(OUT, "renderer-websocket-handshake.png") });
  await page.getByTestId("filter").fill("");
  await page.getByTestId("filter").press("Enter");
  await waitForCount(page, entries.length);
});
