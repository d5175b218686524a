/** Requests to the hub API (docs/api.md). Same origin: the session cookie authenticates them. */

/** The hub answered 401: the page was not opened with the session's token. */
export class AuthError extends Error {
  constructor() {
    super("not authorized: open the URL printed by kubectl shark");
  }
}

/** Any other failed request, with the hub's `{"error": ...}` message when it sent one. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** `/api/v1/<path>?<params>`, relative to the page so a path prefix keeps working. */
export function apiUrl(path: string, params: Record<string, string | number | undefined> = {}): string {
  const u = new URL(`api/v1/${path}`, document.baseURI);
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== "") u.searchParams.set(k, String(v));
  }
  return u.pathname + u.search;
}

/** GETs JSON (read with `parse`, JSON.parse unless told); throws AuthError on 401 and ApiError on other
 * failures. */
export async function getJson<T>(path: string, params: Record<string, string | number | undefined> = {},
  signal?: AbortSignal, parse: (text: string) => unknown = JSON.parse): Promise<T> {
  const res = await fetch(apiUrl(path, params), { credentials: "same-origin", signal });
  if (res.status === 401) throw new AuthError();
  const text = await res.text();
  let body: unknown = null;
  try {
    body = parse(text);
  } catch {
    throw new ApiError(res.status, `${path}: the hub sent no JSON (status ${res.status})`);
  }
  if (!res.ok) {
    const msg = typeof body === "object" && body && "error" in body ? String(body.error) : `status ${res.status}`;
    throw new ApiError(res.status, `${path}: ${msg}`);
  }
  return body as T;
}

/** The answer of `/api/v1/filter/check`. */
export interface FilterCheck {
  ok: boolean;
  column?: number;
  error?: string;
}

export function checkFilter(q: string, signal?: AbortSignal): Promise<FilterCheck> {
  return getJson<FilterCheck>("filter/check", { q }, signal);
}
