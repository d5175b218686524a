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
