/** URLs for messages, with nothing secret in them (kept apart from endpoint-policy.ts, whose ipaddr.js costs ~10 MB to load). */

/** A URL without credentials or query, for messages; a string that is no URL loses its `user:pass@` and query. */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return url.replace(/^([^/?#]*\/\/)[^/?#]*@/, '$1').replace(/[?#].*$/s, '');
  }
}
