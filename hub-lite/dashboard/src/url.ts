/** The page URL: the filter lives in `?q=`, and the session token is removed once the hub has set the
 * cookie (so it does not stay in the address bar, history or screenshots). */

export function queryFromUrl(): string {
  return new URLSearchParams(location.search).get("q") ?? "";
}

export function viewFromUrl(): string {
  return new URLSearchParams(location.search).get("view") ?? "list";
}

/** Rewrites the address in place (no new history entry): `token` dropped, `q` and `view` as given. */
export function updateUrl(changes: { q?: string; view?: string; dropToken?: boolean }): void {
  const u = new URL(location.href);
  if (changes.dropToken) u.searchParams.delete("token");
  if (changes.q !== undefined) {
    if (changes.q === "") u.searchParams.delete("q");
    else u.searchParams.set("q", changes.q);
  }
  if (changes.view !== undefined) {
    if (changes.view === "list") u.searchParams.delete("view");
    else u.searchParams.set("view", changes.view);
  }
  if (u.href !== location.href) history.replaceState(history.state, "", u.href);
}
