// What the network check concludes, without a browser API: which path a STUN or TURN URL tests,
// and the one sentence the page says once every path has answered. Pure, for its tests.

/**
 * The path an ICE server URL tests: "stun", "turn-udp", "turn-tcp" or "turn-tls", with its host
 * and port; null for a URL that is none of these. A `turn:` URL without `transport` is tried
 * over UDP first by browsers, so it counts as UDP.
 */
export function pathOf(url) {
  const match = /^(stuns?|turns?):(\[[^\]]+\]|[^:?]+)(?::(\d+))?(?:\?transport=(udp|tcp))?$/i.exec(String(url).trim());
  if (!match) return null;
  const scheme = match[1].toLowerCase();
  const transport = (match[4] || "").toLowerCase();
  const secure = scheme.endsWith("s");
  let kind;
  if (scheme.startsWith("stun")) kind = "stun";
  else if (secure) kind = "turn-tls";
  else kind = transport === "tcp" ? "turn-tcp" : "turn-udp";
  const port = match[3] ? Number(match[3]) : secure ? 5349 : 3478;
  return { kind, host: match[2], port, url: String(url).trim() };
}

/** Every path the server's ICE servers offer, each with the credentials it needs. */
export function pathsOf(iceServers) {
  const paths = [];
  for (const server of iceServers || []) {
    const urls = Array.isArray(server.urls) ? server.urls : [server.urls];
    for (const url of urls) {
      const path = pathOf(url);
      if (path) paths.push({ ...path, username: server.username || null, credential: server.credential || null });
    }
  }
  return paths;
}

/**
 * The verdict on a finished check, from `[{kind, ok}]`: "direct" (UDP gets out: media goes the
 * shortest way), else "tcp" or "tls" (only that relay works: calls work, a little slower),
 * "blocked" (nothing works) or "unconfigured" (the server offers nothing to try).
 */
export function verdict(results) {
  if (!results.length) return "unconfigured";
  const works = (kind) => results.some((r) => r.kind === kind && r.ok);
  if (works("stun") || works("turn-udp")) return "direct";
  if (works("turn-tcp")) return "tcp";
  if (works("turn-tls")) return "tls";
  return "blocked";
}
