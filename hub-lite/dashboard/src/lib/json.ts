/** Parsing entries without losing digits. Entries carry 64-bit integers that a JavaScript number cannot
 * hold exactly: a schema-less protobuf varint is an unsigned 64-bit number (every negative int32/int64
 * is one above 2^63), and JSON.parse would round it (18446744073709551615 becomes ...552000). */

/** The parts of the JSON source-text-access API (ES2026: `JSON.rawJSON`, a reviver's `context.source`)
 * used here; Chromium has them since 114, Node since 21. */
interface RawJsonApi {
  rawJSON(text: string): unknown;
}

type ExactReviver = (this: unknown, key: string, value: unknown, context?: { source?: string }) => unknown;

/** JSON.parse, except that an integer beyond ±2^53 is kept as a raw JSON value with its exact digits
 * when the engine supports it: `JSON.stringify` writes it back digit for digit (so pretty-printed JSON
 * shows what the hub sent). Engines without the API parse as JSON.parse does. Such raw values are not
 * numbers: only entry fields that are shown as JSON text (protobuf trees) can be that large. */
export function parseJsonExact(text: string): unknown {
  const api = JSON as unknown as Partial<RawJsonApi>;
  const rawJSON = api.rawJSON;
  if (typeof rawJSON !== "function") return JSON.parse(text);
  const reviver: ExactReviver = (_key, value, context) => {
    if (typeof value === "number" && !Number.isSafeInteger(value)) {
      const src = context?.source;
      if (src !== undefined && /^-?\d+$/.test(src)) return rawJSON.call(JSON, src);
    }
    return value;
  };
  return JSON.parse(text, reviver as (this: unknown, key: string, value: unknown) => unknown);
}
