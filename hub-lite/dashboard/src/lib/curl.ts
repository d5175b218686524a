/** "Copy as curl": a shell command that repeats a captured HTTP request. */

import type { Endpoint, HttpRequest } from "./types.ts";

/** Quotes one argument for a POSIX shell: bare when it only has safe characters, else in single quotes
 * (inside which every byte but NUL is literal; a `'` becomes `'\''`). NUL cannot be passed in an
 * argument at all and is dropped. */
export function shellQuote(arg: string): string {
  const s = arg.replace(/\0/g, "");
  if (s !== "" && /^[A-Za-z0-9_@%+=:,./-]+$/.test(s)) return s;
  return "'" + s.replace(/'/g, "'\\''") + "'";
}

/** Headers curl computes itself, or that would be wrong for the body curl sends. */
const SKIP_HEADERS = new Set(["content-length", "transfer-encoding"]);

/** The URL of a request: the request target when absolute, else SCHEME://HOST/path, where HOST is the
 * Host header, else HTTP/2's `:authority`, else the server address (the order of the HAR export, docs/api.md)
 * and SCHEME is HTTP/2's `:scheme` when it is `https`, else `http`. */
export function requestUrl(req: HttpRequest, dst: Endpoint): string {
  const path = req.path ?? "";
  if (/^https?:\/\//i.test(path)) return path;
  const scheme = requestScheme(req);
  const host = headerValue(req.headers, "host")?.trim() || req.authority?.trim() || hostPort(dst, scheme);
  if (path.startsWith("/")) return `${scheme}://${host}${path}`;
  if (path === "*" || path === "") return `${scheme}://${host}`;
  return `${scheme}://${host}/${path}`;
}

/** `https` when the request says so (HTTP/2 `:scheme`), else `http`. */
function requestScheme(req: HttpRequest): "http" | "https" {
  return req.scheme?.toLowerCase() === "https" ? "https" : "http";
}

function hostPort(dst: Endpoint, scheme: "http" | "https"): string {
  const ip = dst.ip.includes(":") ? `[${dst.ip}]` : dst.ip;
  return dst.port === (scheme === "https" ? 443 : 80) ? ip : `${ip}:${dst.port}`;
}

/** The first value of a header, ignoring ASCII case of the name. */
export function headerValue(headers: [string, string][] | undefined, name: string): string | undefined {
  const lower = name.toLowerCase();
  return headers?.find((h) => h[0].toLowerCase() === lower)?.[1];
}

/** The curl option that makes curl speak the request's HTTP version, if it needs one: `--http1.0`;
 * for HTTP/2 `--http2` over TLS (negotiated by ALPN) and `--http2-prior-knowledge` in cleartext (h2c
 * without an Upgrade round trip, as the captured connection most likely did). */
export function versionFlag(req: HttpRequest): string | null {
  if (req.version === "HTTP/1.0") return "--http1.0";
  if (req.version === "HTTP/2") return requestScheme(req) === "https" ? "--http2" : "--http2-prior-knowledge";
  return null;
}

/** The curl command for a request: `-X METHOD` (`--head` for HEAD), one `-H` per header in wire order, the
 * version flag, and the body with `--data-binary` (binary bodies are piped in from `base64 -d`). The
 * captured body is already content-decoded, so a `Content-Encoding` header is left out when there is a
 * body. */
export function curlCommand(req: HttpRequest, dst: Endpoint): string {
  const parts: string[] = ["curl"];
  const body = req.body;
  const hasBody = !!body && ((body.text ?? "") !== "" || (body.base64 ?? "") !== "");
  if (req.method === "HEAD") parts.push("--head");
  else parts.push("-X", shellQuote(req.method));
  parts.push(shellQuote(requestUrl(req, dst)));
  for (const [name, value] of req.headers ?? []) {
    const lower = name.toLowerCase();
    if (SKIP_HEADERS.has(lower)) continue;
    if (hasBody && lower === "content-encoding" && body?.encoding) continue;
    // `-H 'Name:'` would remove the header; `Name;` sends it with an empty value.
    parts.push("-H", shellQuote(value === "" ? `${name};` : `${name}: ${value}`));
  }
  const flag = versionFlag(req);
  if (flag) parts.push(flag);
  let cmd: string;
  if (hasBody && body?.base64 !== undefined) {
    parts.push("--data-binary", "@-");
    cmd = `printf %s ${shellQuote(body.base64)} | base64 -d | ${parts.join(" ")}`;
  } else {
    if (hasBody && body?.text !== undefined) parts.push("--data-binary", shellQuote(body.text));
    cmd = parts.join(" ");
  }
  if (body?.truncated) cmd += " # the captured body was truncated";
  return cmd;
}
