// Shared helpers of the dashboard tests: a real hub (`kubectl-shark view FILE --no-browser --port 0`),
// the independent oracle (`kubectl-shark view FILE -o json`, a separate run with no hub), Chromium, and
// a small evaluator for the simple filters the tests use.
import { spawn, execFileSync } from "node:child_process";
import assert from "node:assert/strict";
import { existsSync, mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

export const HERE = path.dirname(fileURLToPath(import.meta.url));
export const REPO = path.resolve(HERE, "../..");
export const OUT = path.join(HERE, "out");
export const SHARK = process.env.SHARK_BIN ?? path.join(REPO, "target/release/kubectl-shark");
export const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
export const DEMO = path.join(REPO, "samples/demo.pcapng");
mkdirSync(OUT, { recursive: true });

/** Starts a hub on a capture file and resolves once it printed its URL:
 * `kubectl-shark: dashboard at http://127.0.0.1:P/?token=T`. */
export function startHub(file, extraArgs = []) {
  const proc = spawn(SHARK, ["view", file, "--no-browser", "--port", "0", ...extraArgs], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill("SIGTERM");
      reject(new Error(`no dashboard URL from ${SHARK} within 120 s; stderr:\n${stderr}`));
    }, 120_000);
    proc.on("error", (e) => {
      clearTimeout(timer);
      reject(new Error(`cannot start ${SHARK}: ${e.message}`));
    });
    proc.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${SHARK} view exited with ${code} before printing the URL; stderr:\n${stderr}`));
    });
    proc.stderr.setEncoding("utf8");
    proc.stderr.on("data", (chunk) => {
      stderr += chunk;
      const m = /kubectl-shark: dashboard at (http:\/\/\S+)/.exec(stderr);
      if (m) {
        clearTimeout(timer);
        proc.removeAllListeners("exit");
        const url = new URL(m[1]);
        const token = url.searchParams.get("token");
        resolve({
          url: url.href,
          base: `${url.origin}/`,
          token,
          proc,
          async stop() {
            if (proc.exitCode !== null) return;
            const done = new Promise((r) => proc.once("exit", r));
            proc.kill("SIGTERM");
            await done;
          },
        });
      }
    });
  });
}

/** The entries of a capture by an independent run of the CLI (no hub involved). */
export function oracle(file) {
  const out = execFileSync(SHARK, ["view", file, "-o", "json", "--quiet"], { maxBuffer: 1 << 30, encoding: "utf8" });
  return out.split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l));
}

/** A protocol renderer's bench: a real hub serving `capture` (a golden capture) in Chromium, and the
 * capture's entries from the oracle. `setup(page)` runs before the page loads; the list must then show
 * `shown(entries)` rows (default: all of them). `open(id)` scrolls to an entry's row, clicks it and
 * waits for its detail; `close()` ends the browser and the hub. */
export async function openCapture(capture, { setup, shown } = {}) {
  assert.ok(existsSync(capture), `capture ${capture} missing`);
  const entries = oracle(capture);
  const hub = await startHub(capture);
  let browser;
  const close = async () => {
    await browser?.close();
    await hub.stop();
  };
  try {
    browser = await launch();
    const page = await (await browser.newContext({ viewport: { width: 1500, height: 1500 } })).newPage();
    if (setup) await setup(page);
    await page.goto(hub.url);
    await waitForCount(page, shown ? shown(entries) : entries.length);
    const open = async (id) => {
      const idx = entries.findIndex((e) => e.id === id);
      assert.ok(idx >= 0, `${id} is in the list`);
      await page.evaluate((top) => {
        document.querySelector('[data-testid="list"]').scrollTop = top;
      }, Math.max(0, idx * 22 - 100));
      await page.locator(`.row[data-id="${id}"] .c-summary`).click();
      await page.locator(`[data-testid="detail"][data-id="${id}"] .detail-body section`).first().waitFor();
    };
    return { entries, page, open, close };
  } catch (e) {
    await close();
    throw e;
  }
}

export async function launch() {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox", "--disable-gpu"] });
}

/** Fetches an API path with the token as a bearer header (from Node, not the browser). */
export async function api(hub, pathAndQuery) {
  const res = await fetch(new URL(pathAndQuery, hub.base), { headers: { Authorization: `Bearer ${hub.token}` } });
  return res;
}

/** Every row id of the virtualized list, collected by scrolling it from top to bottom. */
export async function listedIds(page) {
  return page.evaluate(async () => {
    const box = document.querySelector('[data-testid="list"]');
    if (!box) return [];
    const seen = new Map();
    box.scrollTop = 0;
    for (;;) {
      await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
      for (const el of box.querySelectorAll(".row")) {
        const top = new DOMMatrixReadOnly(getComputedStyle(el).transform).m42;
        seen.set(top, el.getAttribute("data-id"));
      }
      if (box.scrollTop + box.clientHeight >= box.scrollHeight - 1) break;
      box.scrollTop += Math.max(1, box.clientHeight - 44);
    }
    return [...seen.entries()].sort((a, b) => a[0] - b[0]).map((e) => e[1]);
  });
}

/** Waits until the list holds exactly `n` rows under the filter `q` (the one the hub acknowledged), so
 * an old list that happens to have the same length does not count. */
export async function waitForCount(page, n, q = "", timeout = 60_000) {
  await page.waitForFunction(
    ([want, filter]) => {
      const list = document.querySelector('[data-testid="list"]');
      return list?.getAttribute("data-rows") === String(want) && list.getAttribute("data-filter") === filter;
    },
    [n, q],
    { timeout },
  );
}

/** Seconds since the epoch of an RFC 3339 time with up to nanoseconds (Date.parse keeps only ms). */
export function epochSeconds(ts) {
  const frac = /\.(\d+)Z$/.exec(ts)?.[1] ?? "0";
  return Date.parse(ts.replace(/\.\d+Z$/, "Z")) / 1000 + Number(`0.${frac}`);
}

// ---- The oracle's filter evaluator: `and`-joined clauses of a protocol name or `path OP literal`. ----

function lookup(entry, pathText) {
  let v = entry;
  for (const part of pathText.split(".")) {
    if (v === null || v === undefined) return null;
    v = v[part];
  }
  return v ?? null;
}

function compare(a, op, b) {
  const num = (x) => (typeof x === "number" ? x : typeof x === "string" && /^-?\d+(\.\d+)?$/.test(x) ? Number(x) : NaN);
  if (a === null) return op === "!=";
  if (typeof b === "number" || (typeof a === "number" && !Number.isNaN(num(b)))) {
    const x = num(a);
    const y = num(b);
    if (Number.isNaN(x) || Number.isNaN(y)) return op === "!=";
    return { "==": x === y, "!=": x !== y, ">": x > y, ">=": x >= y, "<": x < y, "<=": x <= y }[op];
  }
  return { "==": String(a) === b, "!=": String(a) !== b }[op];
}

/** True when `entry` matches `filter`, for filters like `http and response.status == 404`. Throws on
 * anything more complex, so a test cannot silently use an oracle that does not understand its filter. */
export function simpleMatch(entry, filter) {
  return filter.split(/\s+and\s+/).every((c) => {
    const t = c.trim();
    if (/^[a-z]+$/.test(t)) return entry.protocol === t || entry.transport === t;
    const m = /^([a-z_.]+)\s*(==|!=|>=|<=|>|<)\s*(?:"([^"\\]*)"|(-?\d+))$/.exec(t);
    if (!m) throw new Error(`the test oracle does not understand the clause ${JSON.stringify(t)}`);
    return compare(lookup(entry, m[1]), m[2], m[3] !== undefined ? m[3] : Number(m[4]));
  });
}

/** p50/p95/max of a list of numbers. */
export function percentiles(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const at = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? NaN;
  return { count: s.length, p50: at(0.5), p95: at(0.95), max: s[s.length - 1] ?? NaN };
}
