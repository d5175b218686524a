// WebSocket message presentation: the entry shape of docs/entry.md (WebSocket) and the texts the detail
// pane shows for direction and Close. Close names are the IANA "WebSocket Close Code Number Registry"'s.
import { test } from "node:test";
import assert from "node:assert/strict";
import { closeText, directionText, isWsMessage } from "../build-test/lib/websocket.js";

test("a WebSocket message is an object with text from and opcode", () => {
  assert.equal(isWsMessage({ from: "client", opcode: "text", frames: 1, handshake: "e-1" }), true);
  assert.equal(isWsMessage({ from: "server", opcode: "close", close: { code: 1000 } }), true);
  for (const v of [null, undefined, 5, "text", [], { from: "client" }, { opcode: "text" }, { from: 1, opcode: "text" },
    { method: "GET", path: "/" }]) {
    assert.equal(isWsMessage(v), false, JSON.stringify(v));
  }
});

test("the direction says who sent it to whom", () => {
  assert.equal(directionText("client"), "client → server");
  assert.equal(directionText("server"), "server → client");
  assert.equal(directionText("proxy"), "from proxy");
});

test("a Close reads like its summary: code, registry name, reason", () => {
  assert.equal(closeText({ code: 1000, name: "Normal Closure", reason: "bye" }), "1000 Normal Closure: bye");
  assert.equal(closeText({ code: 1011, name: "Internal Error", reason: "" }), "1011 Internal Error");
  assert.equal(closeText({ code: 4000, name: null, reason: "custom" }), "4000: custom");
  assert.equal(closeText({ code: null, name: null, reason: "" }), "no code");
  assert.equal(closeText({}), "no code");
});
