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

/** The URL of a request: the request target when absolute, else http://HOST/path with the Host header
 * (or the server address when there is none). */
export function requestUrl(req: HttpRequest, dst: Endpoint): string {
  const path = req.path;
  if (/^https?:\/\//i.test(path)) return path;
  const host = headerValue(req.headers, "host")?.trim() || hostPort(dst);
  if (path.startsWith("/")) return `http://${host}${path}`;
  if (path === "*") return `http://${host}`;
  return `http://${host}/${path}`;
}

function hostPort(dst: Endpoint): string {
  const ip = dst.ip.includes(":") ? `[${dst.ip}]` : dst.ip;
  return dst.port === 80 ? ip : `${ip}:${dst.port}`;
}

/** The first value of a header, ignoring ASCII case of the name. */
export function headerValue(headers: [string, string][] | undefined, name: string): string | undefined {
  const lower = name.toLowerCase();
  return headers?.find((h) => h[0].toLowerCase() === lower)?.[1];
}

/** The curl command for a request: `-X METHOD` (`--head` for HEAD), one `-H` per header in wire order, and
 * the body with `--data-binary` (binary bodies are piped in from `base64 -d`). The captured body is
 * already content-decoded, so a `Content-Encoding` header is left out when there is a body. */
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
  if (req.version === "HTTP/1.0") parts.push("--http1.0");
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
