// What a connection's getStats() report says about the link: the path ICE chose (direct or
// relayed, over which protocol), round-trip time, loss, bitrates, and what each video track
// looks like; and the verdict people see (good, weak, poor, and why). Pure: plain stats objects
// in, plain objects out, no DOM and no RTCPeerConnection, so it runs anywhere for its tests.

/**
 * Where a link turns weak or poor. Loss in percent of packets over the last interval, round-trip
 * time in milliseconds, the bandwidth the sender's congestion control estimates in kbit/s. Below
 * ~300 kbit/s a camera is already sent small; at ~120 only audio and a postage stamp get through.
 */
export const THRESHOLDS = Object.freeze({
  loss: { weak: 2, poor: 8 },
  rtt: { weak: 300, poor: 600 },
  bandwidth: { weak: 300, poor: 120 },
});

const LEVELS = ["good", "weak", "poor"];

/** Stats of one type, from a report's values (a Map's values or an array). */
function ofType(stats, type) {
  return stats.filter((s) => s.type === type);
}

/** The candidate pair in use: the transport's selected one, else a nominated succeeded pair. */
function selectedPair(stats, byId) {
  for (const transport of ofType(stats, "transport")) {
    const pair = byId.get(transport.selectedCandidatePairId);
    if (pair) return pair;
  }
  return ofType(stats, "candidate-pair").find((p) => p.nominated && p.state === "succeeded") || null;
}

/** kbit/s between two byte counters `ms` milliseconds apart, or null. */
function kbps(bytes, before, ms) {
  if (before === undefined || before === null || !(ms > 0) || bytes < before) return null;
  return Math.round(((bytes - before) * 8) / ms);
}

/**
 * One sample of a connection. `stats`: the report's values; `previous`: the last sample of the
 * same connection (for rates); `mids`: when given, only RTP streams of these mids count (one
 * remote peer's tracks on the SFU subscription, which carries everyone's).
 */
export function readConnection(stats, previous = null, mids = null) {
  const list = [...stats];
  const byId = new Map(list.map((s) => [s.id, s]));
  const counts = (s) => !mids || (s.mid !== undefined && mids.has(String(s.mid)));
  const pair = selectedPair(list, byId);
  const local = pair ? byId.get(pair.localCandidateId) : null;
  const remote = pair ? byId.get(pair.remoteCandidateId) : null;
  const at = list.reduce((latest, s) => Math.max(latest, s.timestamp || 0), 0);
  const inbound = ofType(list, "inbound-rtp").filter(counts);
  const outbound = ofType(list, "outbound-rtp").filter(counts);
  const remoteInbound = ofType(list, "remote-inbound-rtp").filter((s) => counts(byId.get(s.localId) || {}));
  const sum = (items, key) => items.reduce((total, s) => total + (s[key] || 0), 0);

  const sample = {
    at,
    path: local ? {
      local: local.candidateType,
      remote: remote ? remote.candidateType : null,
      protocol: local.protocol || null,
      relayProtocol: local.candidateType === "relay" ? local.relayProtocol || null : null,
    } : null,
    rttMs: pair && typeof pair.currentRoundTripTime === "number" ? Math.round(pair.currentRoundTripTime * 1000) : null,
    availableOutKbps: pair && typeof pair.availableOutgoingBitrate === "number" ? Math.round(pair.availableOutgoingBitrate / 1000) : null,
    bytesIn: mids ? sum(inbound, "bytesReceived") : pair ? pair.bytesReceived || 0 : sum(inbound, "bytesReceived"),
    bytesOut: mids ? sum(outbound, "bytesSent") : pair ? pair.bytesSent || 0 : sum(outbound, "bytesSent"),
    packetsIn: sum(inbound, "packetsReceived"),
    lostIn: Math.max(0, sum(inbound, "packetsLost")),
    kbpsIn: null,
    kbpsOut: null,
    lossInPct: null,
    // What the other end reports of our packets (RTCP receiver reports): the last interval's share.
    lossOutPct: remoteInbound.length ? Math.round(Math.max(...remoteInbound.map((s) => s.fractionLost || 0)) * 1000) / 10 : null,
    inbound: inbound.map((s) => ({
      mid: s.mid === undefined ? null : String(s.mid),
      kind: s.kind,
      trackIdentifier: s.trackIdentifier || null,
      width: s.frameWidth || null,
      height: s.frameHeight || null,
      fps: typeof s.framesPerSecond === "number" ? Math.round(s.framesPerSecond) : null,
      framesDecoded: s.framesDecoded || 0,
      packetsReceived: s.packetsReceived || 0,
    })),
    outbound: outbound.filter((s) => s.bytesSent > 0 || s.kind === "video").map((s) => ({
      mid: s.mid === undefined ? null : String(s.mid),
      kind: s.kind,
      width: s.frameWidth || null,
      height: s.frameHeight || null,
      fps: typeof s.framesPerSecond === "number" ? Math.round(s.framesPerSecond) : null,
      limitation: s.qualityLimitationReason || "none",
      // The camera's (or screen's) own height, to tell a lowered picture from a limited ramp-up.
      source: s.mediaSourceId || null,
      sourceHeight: (byId.get(s.mediaSourceId) || {}).height || null,
      active: s.active !== false && (s.bytesSent || 0) > 0,
    })),
  };
  if (previous && sample.at > previous.at) {
    const ms = sample.at - previous.at;
    sample.kbpsIn = kbps(sample.bytesIn, previous.bytesIn, ms);
    sample.kbpsOut = kbps(sample.bytesOut, previous.bytesOut, ms);
    const received = sample.packetsIn - previous.packetsIn;
    const lost = sample.lostIn - previous.lostIn;
    if (received >= 0 && lost >= 0 && received + lost > 0) {
      sample.lossInPct = Math.round((lost / (received + lost)) * 1000) / 10;
    }
  }
  return sample;
}

function grade(value, { weak, poor }, lowerIsWorse = false) {
  if (value === null || value === undefined) return 0;
  if (lowerIsWorse) return value < poor ? 2 : value < weak ? 1 : 0;
  return value >= poor ? 2 : value >= weak ? 1 : 0;
}

/**
 * The verdict on a sample: `level` "good" | "weak" | "poor" (null before the connection has a
 * path), and `reasons`, the worst first, among "bandwidth", "loss" and "rtt". `bandwidth`
 * counts only when we send video on the connection (the estimate means nothing otherwise).
 */
export function assess(sample, thresholds = THRESHOLDS) {
  if (!sample || !sample.path) return { level: null, reasons: [] };
  const sendsVideo = sample.outbound.some((s) => s.kind === "video" && s.active);
  const loss = Math.max(sample.lossInPct ?? -1, sample.lossOutPct ?? -1);
  const grades = [
    ["bandwidth", sendsVideo ? grade(sample.availableOutKbps, thresholds.bandwidth, true) : 0],
    ["loss", grade(loss < 0 ? null : loss, thresholds.loss)],
    ["rtt", grade(sample.rttMs, thresholds.rtt)],
  ].filter(([, g]) => g > 0).sort((a, b) => b[1] - a[1]);
  const worst = grades.length ? grades[0][1] : 0;
  return { level: LEVELS[worst], reasons: grades.map(([reason]) => reason) };
}

/** The worse of several verdicts (a peer reached over more than one connection, ourselves). */
export function worst(verdicts) {
  let result = { level: null, reasons: [] };
  for (const verdict of verdicts) {
    if (!verdict || !verdict.level) continue;
    if (!result.level || LEVELS.indexOf(verdict.level) > LEVELS.indexOf(result.level)) {
      result = { level: verdict.level, reasons: [...verdict.reasons] };
    } else if (verdict.level === result.level) {
      for (const reason of verdict.reasons) if (!result.reasons.includes(reason)) result.reasons.push(reason);
    }
  }
  return result;
}

/**
 * Whether the browser sends our video smaller than the camera gives because the link is short
 * of bandwidth. The limitation alone is not enough: a call's first seconds are "limited by
 * bandwidth" while the estimate ramps up, at full size.
 */
export function videoLowered(sample) {
  if (!sample) return false;
  // Several streams of one source (a camera sent in several qualities): only the best counts,
  // the others are small on purpose.
  const best = new Map();
  for (const s of sample.outbound) {
    if (s.kind !== "video" || s.height === null) continue;
    const key = s.source || s.mid;
    if (!best.has(key) || s.height > best.get(key).height) best.set(key, s);
  }
  return [...best.values()].some((s) => s.limitation === "bandwidth" && s.sourceHeight !== null && s.height < s.sourceHeight);
}

/** "direct" or "relay" for a path, the way the details panel names it. */
export function route(path) {
  if (!path) return null;
  return path.local === "relay" || path.remote === "relay" ? "relay" : "direct";
}
