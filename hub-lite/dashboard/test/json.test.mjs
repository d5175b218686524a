// Exact parsing of 64-bit integers: the JSON text itself is the oracle (its digits must come back out of
// JSON.stringify), and JSON.parse for everything that is not such an integer.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { parseJsonExact } from "../build-test/lib/json.js";

const module = fileURLToPath(new URL("../build-test/lib/json.js", import.meta.url));

/** Runs `parseJsonExact` in a Node with JSON.rawJSON (this one, or with the V8 flag on Node 20). */
function inEngineWithRawJson(text) {
  const flags = typeof JSON.rawJSON === "function" ? [] : ["--harmony-json-parse-with-source"];
  const script = `import(${JSON.stringify(module)}).then((m) => process.stdout.write(JSON.stringify(m.parseJsonExact(process.argv[1]))))`;
  return execFileSync(process.execPath, [...flags, "-e", script, text], { encoding: "utf8" });
}

test("integers beyond 2^53 keep every digit through parse and stringify", () => {
  const text = '{"raw":{"1":18446744073709551615,"2":[9007199254740993,-9223372036854775808],"3":150,' +
    '"6":{"fixed64":4614253070214989087,"double":3.14}},"size":8,"f":1e+300,"g":-0.5}';
  assert.equal(inEngineWithRawJson(text), text);
});

test("everything else parses as JSON.parse does", () => {
  const text = '{"a":[1,2.5,-3,1e21,true,null,"9007199254740993"],"b":{"c":"x"},"d":12345678901234}';
  assert.deepEqual(parseJsonExact(text), JSON.parse(text));
  assert.equal(inEngineWithRawJson(text), JSON.stringify(JSON.parse(text)));
  assert.throws(() => parseJsonExact("{nope"), SyntaxError);
});
