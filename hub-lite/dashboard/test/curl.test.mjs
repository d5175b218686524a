// "Copy as curl" checked against bash itself: the command is run with `curl` replaced by a shell
// function that prints its arguments (NUL-separated) and its stdin, so quoting mistakes show up as
// wrong arguments, not as string differences.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { curlCommand, shellQuote } from "../build-test/lib/curl.js";

function runAsBash(cmd) {
  const script = `curl() { printf '%s\\0' "$@"; printf 'STDIN\\0'; cat; }\n${cmd}\n`;
  const out = execFileSync("bash", ["-c", script], { encoding: "latin1" });
  const i = out.indexOf("STDIN\0");
  return { args: out.slice(0, i).split("\0").slice(0, -1), stdin: out.slice(i + 6) };
}

const dst = { ip: "10.0.0.2", port: 8080 };

test("shellQuote survives every awkward character", () => {
  const nasty = ["", "plain", "it's", "a b", "$HOME", "`id`", "\\", "\"q\"", "line1\nline2", "!x", "*", "'", "''", "é ✓"];
  const cmd = "curl " + nasty.map(shellQuote).join(" ");
  assert.deepEqual(runAsBash(cmd).args, nasty.map((s) => Buffer.from(s, "utf8").toString("latin1")));
});

test("a POST with headers and a text body gives -X, one -H per header in order, --data-binary", () => {
  const req = {
    method: "POST",
    path: "/api/items?x=1&y=it's",
    version: "HTTP/1.1",
    headers: [["Host", "shop.local"], ["Content-Type", "application/json"], ["X-Quote", "a'b \"c\" $d"],
      ["Content-Length", "17"], ["X-Empty", ""]],
    body: { size: 17, mime: "application/json", encoding: null, text: "{\"n\": \"it's\"}\n", truncated: false },
  };
  const { args, stdin } = runAsBash(curlCommand(req, dst));
  assert.deepEqual(args, [
    "-X", "POST", "http://shop.local/api/items?x=1&y=it's",
    "-H", "Host: shop.local", "-H", "Content-Type: application/json", "-H", "X-Quote: a'b \"c\" $d",
    "-H", "X-Empty;",
    "--data-binary", "{\"n\": \"it's\"}\n",
  ]);
  assert.equal(stdin, "");
});

test("without a Host header the server address is the host; HEAD uses --head", () => {
  const req = { method: "HEAD", path: "/big.bin", headers: [] };
  assert.deepEqual(runAsBash(curlCommand(req, dst)).args, ["--head", "http://10.0.0.2:8080/big.bin"]);
  const v6 = runAsBash(curlCommand({ method: "GET", path: "/", headers: [] }, { ip: "fd00::1", port: 80 }));
  assert.deepEqual(v6.args, ["-X", "GET", "http://[fd00::1]/"]);
});

test("a binary body is piped in from base64 -d byte for byte", () => {
  const bytes = Buffer.from([0, 1, 2, 0xff, 0x27, 0x0a, 0x80]);
  const req = { method: "PUT", path: "/blob", headers: [["Host", "h"]],
    body: { size: bytes.length, mime: "application/octet-stream", encoding: null, base64: bytes.toString("base64"), truncated: false } };
  const { args, stdin } = runAsBash(curlCommand(req, dst));
  assert.deepEqual(args, ["-X", "PUT", "http://h/blob", "-H", "Host: h", "--data-binary", "@-"]);
  assert.deepEqual(Buffer.from(stdin, "latin1"), bytes);
});

test("Content-Encoding is left out when the (decoded) body is sent", () => {
  const req = { method: "POST", path: "/", headers: [["Host", "h"], ["Content-Encoding", "gzip"]],
    body: { size: 20, mime: "text/plain", encoding: "gzip", text: "hello", truncated: false } };
  const { args } = runAsBash(curlCommand(req, dst));
  assert.deepEqual(args, ["-X", "POST", "http://h/", "-H", "Host: h", "--data-binary", "hello"]);
});

// ---- HTTP/2: the URL from :scheme and :authority, and the version flag, checked by real curl talking to
// Node's own HTTP/2 server. The cleartext server speaks only HTTP/2 with prior knowledge (no HTTP/1, no
// Upgrade), and the TLS one only h2 by ALPN, so a wrong flag or URL makes the request fail or differ.
import http2 from "node:http2";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";

const execFileP = promisify(execFile);
const hasCurl = (() => {
  try {
    return /\bHTTP2\b/.test(execFileSync("curl", ["--version"], { encoding: "utf8" }));
  } catch {
    return false;
  }
})();

/** Serves one request on `server`, runs `cmd` in bash (with `env`), and gives what the server saw. */
async function roundTrip(server, cmd, env = {}) {
  const seen = new Promise((resolve) => {
    server.once("stream", (stream, headers) => {
      const chunks = [];
      stream.on("data", (c) => chunks.push(c));
      stream.on("end", () => {
        stream.respond({ ":status": 200 });
        stream.end("ok");
        resolve({ headers, body: Buffer.concat(chunks) });
      });
    });
  });
  const run = execFileP("bash", ["-c", `${cmd} -sS -o /dev/null`], { env: { ...process.env, ...env } });
  const [got] = await Promise.all([seen, run]);
  return got;
}

function listen(server) {
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server.address().port)));
}

/** An HTTP/2 request as the dissector writes it (docs/entry.md, HTTP/2): pseudo-headers as fields. */
function h2Request(port, scheme, extra = {}) {
  return {
    method: "POST", path: "/echo?x=1&y=it's", version: "HTTP/2", scheme, authority: `127.0.0.1:${port}`, stream_id: 1,
    headers: [["user-agent", "curl/7.88.1"], ["accept", "*/*"], ["content-type", "application/json"], ["x-quote", "a'b $c"],
      ["content-length", "17"]],
    body: { size: 17, mime: "application/json", encoding: null, text: "{\"name\":\"golden\"}", truncated: false },
    ...extra,
  };
}

test("HTTP/2 in cleartext: --http2-prior-knowledge and http://AUTHORITY, accepted by an h2c-only server", { skip: !hasCurl && "curl with HTTP2 missing" }, async () => {
  const server = http2.createServer();
  const port = await listen(server);
  try {
    const req = h2Request(port, "http");
    const cmd = curlCommand(req, { ip: "10.9.9.9", port: 1 });
    assert.ok(cmd.includes("--http2-prior-knowledge"), cmd);
    const { headers, body } = await roundTrip(server, cmd);
    assert.equal(headers[":method"], "POST");
    assert.equal(headers[":scheme"], "http");
    assert.equal(headers[":authority"], `127.0.0.1:${port}`);
    assert.equal(headers[":path"], "/echo?x=1&y=it's");
    assert.equal(headers["x-quote"], "a'b $c");
    assert.equal(headers["content-type"], "application/json");
    assert.equal(body.toString("utf8"), "{\"name\":\"golden\"}");
    // A binary body goes through base64 -d, byte for byte, over HTTP/2 too.
    const bytes = Buffer.from([0, 1, 0xfe, 0xff, 0x27, 0x0a]);
    const bin = h2Request(port, "http", { method: "PUT", headers: [["content-type", "application/octet-stream"]],
      body: { size: bytes.length, mime: "application/octet-stream", encoding: null, base64: bytes.toString("base64"), truncated: false } });
    const got = await roundTrip(server, curlCommand(bin, { ip: "10.9.9.9", port: 1 }));
    assert.equal(got.headers[":method"], "PUT");
    assert.deepEqual(got.body, bytes);
  } finally {
    server.close();
  }
});

test("HTTP/2 over TLS: --http2 and https://AUTHORITY, accepted by an h2-only TLS server", { skip: !hasCurl && "curl with HTTP2 missing" }, async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "curl-h2-"));
  try {
    const key = path.join(dir, "key.pem");
    const cert = path.join(dir, "cert.pem");
    execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1",
      "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert], { stdio: "ignore" });
    const server = http2.createSecureServer({ key: readFileSync(key), cert: readFileSync(cert) });
    const port = await listen(server);
    try {
      const req = h2Request(port, "https", { method: "GET", body: { size: 0, mime: null, encoding: null, text: "", truncated: false },
        headers: [["accept", "*/*"]] });
      const cmd = curlCommand(req, { ip: "127.0.0.1", port });
      assert.ok(cmd.includes(" --http2") && !cmd.includes("prior-knowledge"), cmd);
      const { headers } = await roundTrip(server, cmd, { CURL_CA_BUNDLE: cert });
      assert.equal(headers[":scheme"], "https");
      assert.equal(headers[":method"], "GET");
      assert.equal(headers[":authority"], `127.0.0.1:${port}`);
      assert.equal(headers[":path"], "/echo?x=1&y=it's");
    } finally {
      server.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the host of the URL: Host header, else :authority, else the server address (443 left out for https)", () => {
  const dst = { ip: "10.0.0.2", port: 443 };
  const base = { method: "GET", path: "/a", version: "HTTP/2", headers: [] };
  assert.deepEqual(runAsBash(curlCommand({ ...base, scheme: "https" }, dst)).args, ["-X", "GET", "https://10.0.0.2/a", "--http2"]);
  assert.deepEqual(runAsBash(curlCommand({ ...base, scheme: "http" }, dst)).args,
    ["-X", "GET", "http://10.0.0.2:443/a", "--http2-prior-knowledge"]);
  assert.deepEqual(runAsBash(curlCommand({ ...base, scheme: "https", authority: "api.example:8443" }, dst)).args,
    ["-X", "GET", "https://api.example:8443/a", "--http2"]);
  const withHost = { ...base, scheme: "http", authority: "a.example", headers: [["host", "b.example"]] };
  assert.equal(runAsBash(curlCommand(withHost, dst)).args[2], "http://b.example/a");
  // HTTP/1.1 entries have no scheme: http, and no version flag.
  assert.deepEqual(runAsBash(curlCommand({ method: "GET", path: "/", version: "HTTP/1.1", headers: [] }, { ip: "10.0.0.2", port: 80 })).args,
    ["-X", "GET", "http://10.0.0.2/"]);
  // An HTTP/2 CONNECT has no :path: the URL is the authority alone (and nothing throws).
  assert.deepEqual(runAsBash(curlCommand({ method: "CONNECT", version: "HTTP/2", scheme: "http", authority: "db:5432", headers: [] }, dst)).args,
    ["-X", "CONNECT", "http://db:5432", "--http2-prior-knowledge"]);
});
