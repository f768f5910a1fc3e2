// How the call's connections are doing, as people in the call see it: every two seconds the
// connections that carry media (each P2P link, or the SFU's publish and subscribe legs) are
// read with getStats(), and linkquality.js turns the numbers into a verdict per participant
// (good, weak, poor and why), the notice that our own video was lowered to save bandwidth, and
// the details panel for the hospital's IT (path, protocol, bitrates, loss, RTT, each track).

import { $, call, links, participants, peerId } from "./callstate.js";
import { t } from "./i18n.js";
import { assess, readConnection, route, videoLowered, worst } from "./linkquality.js";
import { el } from "./ui.js";

const POLL_MS = 2000;
// The notice stays up this long after the browser stops limiting our video, so it does not flicker.
const LOWERED_LINGER_MS = 6000;

/** The words for a verdict's reasons. */
const REASONS = {
  bandwidth: () => t("low bandwidth"),
  loss: () => t("packet loss"),
  rtt: () => t("high delay"),
};

/** Why the browser sends our video smaller (outbound-rtp `qualityLimitationReason`). */
const LIMITATIONS = {
  bandwidth: () => t("low bandwidth"),
  cpu: () => t("processor load"),
};

const LEVEL_TEXT = {
  good: () => t("Good connection"),
  weak: () => t("Weak connection"),
  poor: () => t("Poor connection"),
};

/** "Weak connection: packet loss, high delay" (or just the level when there is no reason). */
export function describeVerdict(verdict) {
  if (!verdict || !verdict.level) return t("Measuring the connection…");
  const level = LEVEL_TEXT[verdict.level]();
  if (!verdict.reasons.length) return level;
  return `${level}: ${verdict.reasons.map((reason) => REASONS[reason]()).join(", ")}`;
}

export class CallQuality extends EventTarget {
  constructor() {
    super();
    /** The last sample of each connection, by its key ("p2p:<peer>", "publish", "subscribe:<peer>"…). */
    this.samples = new Map();
    /** Verdicts by peer id (ours under our own id). */
    this.verdicts = new Map();
    this.loweredUntil = 0;
    this.timer = 0;
    this.polling = false;
  }

  start() {
    if (this.timer) return;
    this.timer = setInterval(() => this.poll(), POLL_MS);
    this.poll();
  }

  stop() {
    clearInterval(this.timer);
    this.timer = 0;
  }

  /** The connections carrying media now, each with what it stands for. */
  #connections() {
    const found = [];
    for (const [id, link] of links) {
      if (!link.closed) found.push({ key: `p2p:${id}`, pc: link.pc, peer: id, leg: "p2p" });
    }
    const sfu = call.sfu;
    if (sfu && sfu.publishPc) found.push({ key: "publish", pc: sfu.publishPc, peer: peerId, leg: "publish" });
    if (sfu && sfu.subscribePc) found.push({ key: "subscribe", pc: sfu.subscribePc, peer: null, leg: "subscribe" });
    return found.filter(({ pc }) => pc.connectionState !== "closed");
  }

  /** Read every connection once, and tell the page what changed. */
  async poll() {
    if (this.polling) return;
    this.polling = true;
    try {
      const samples = new Map();
      const verdicts = new Map();
      const mine = [];
      for (const connection of this.#connections()) {
        let report;
        try {
          report = await connection.pc.getStats();
        } catch {
          continue; // closed meanwhile
        }
        const stats = [...report.values()];
        const whole = readConnection(stats, this.samples.get(connection.key) || null);
        samples.set(connection.key, { ...whole, leg: connection.leg, peer: connection.peer });
        if (connection.leg === "p2p") {
          const verdict = assess(whole);
          verdicts.set(connection.peer, verdict);
          mine.push(verdict);
        } else if (connection.leg === "publish") {
          mine.push(assess(whole));
        } else {
          // The subscription carries everyone: each peer's verdict from its own tracks' loss
          // and the leg's round-trip time.
          for (const [id, mids] of this.#midsByPeer()) {
            const key = `subscribe:${id}`;
            const own = readConnection(stats, this.samples.get(key) || null, mids);
            samples.set(key, { ...own, leg: "subscribe-peer", peer: id });
            verdicts.set(id, worst([verdicts.get(id), assess(own)]));
          }
        }
      }
      verdicts.set(peerId, worst(mine));
      this.samples = samples;
      this.verdicts = verdicts;
      const now = Date.now();
      if ([...samples.values()].some((s) => (s.leg === "p2p" || s.leg === "publish") && videoLowered(s))) {
        this.loweredUntil = now + LOWERED_LINGER_MS;
      }
      this.dispatchEvent(new Event("change"));
    } finally {
      this.polling = false;
    }
  }

  /** Mids of the SFU subscription by the peer whose tracks they carry. */
  #midsByPeer() {
    const byPeer = new Map();
    const sfu = call.sfu;
    for (const [mid, info] of Object.entries(sfu ? sfu.tracksByMid : {})) {
      if (!byPeer.has(info.peer_id)) byPeer.set(info.peer_id, new Set());
      byPeer.get(info.peer_id).add(String(mid));
    }
    return byPeer;
  }

  /** The verdict for a participant (ours: our own id), or null before the first reading. */
  verdictFor(id) {
    return this.verdicts.get(id) || null;
  }

  /** Whether the browser is sending our video smaller than the camera gives, for bandwidth. */
  get videoLowered() {
    return Date.now() < this.loweredUntil;
  }

  /** For tests and support: the last samples and verdicts as plain data. */
  snapshot() {
    return {
      samples: Object.fromEntries(this.samples),
      verdicts: Object.fromEntries(this.verdicts),
      videoLowered: this.videoLowered,
    };
  }
}

/** The call page's one reader of connection stats (started when we enter the call). */
export const quality = new CallQuality();

// ------------------------------------------------------------------------------ the details panel

function pathText(path) {
  if (!path) return t("Not connected yet");
  const protocol = (path.relayProtocol || path.protocol || "").toUpperCase();
  return route(path) === "relay"
    ? t("Relayed through the TURN server ({protocol})", { protocol })
    : t("Direct ({protocol})", { protocol });
}

const number = (value, unit) => (value === null || value === undefined ? "—" : `${value} ${unit}`);

function trackText(track, who) {
  if (track.kind === "audio") return t("{who}: audio", { who });
  if (!track.width) return t("{who}: video, no frames yet", { who });
  const size = `${track.width}×${track.height}`;
  return track.fps === null ? `${who}: ${size}` : t("{who}: {size} at {fps} fps", { who, size, fps: track.fps });
}

function connectionTitle(sample) {
  if (sample.leg === "publish") return t("Media server, sending");
  if (sample.leg === "subscribe") return t("Media server, receiving");
  const peer = participants.get(sample.peer);
  return t("Connection with {name}", { name: peer ? peer.name : "?" });
}

function nameOf(id) {
  const peer = participants.get(id);
  return peer ? peer.name : "?";
}

/** Who a received track belongs to: the link's peer, or on the subscription the mid's owner. */
function inboundOwner(sample, track) {
  if (sample.leg === "p2p") return nameOf(sample.peer);
  const info = call.sfu ? call.sfu.tracksByMid[track.mid] : null;
  if (!info) return "?";
  return info.source === "screen" ? t("{name} (screen)", { name: nameOf(info.peer_id) }) : nameOf(info.peer_id);
}

/** Draw the details panel from the last samples into `list` (`#network-list`). */
export function renderDetails(list) {
  const items = [];
  for (const sample of quality.samples.values()) {
    if (sample.leg === "subscribe-peer") continue;
    const rows = [
      [t("Path"), pathText(sample.path)],
      [t("Round-trip time"), number(sample.rttMs, "ms")],
      [t("Received"), number(sample.kbpsIn, "kbit/s")],
      [t("Sent"), number(sample.kbpsOut, "kbit/s")],
      [t("Loss received"), number(sample.lossInPct, "%")],
      [t("Loss sent"), number(sample.lossOutPct, "%")],
    ];
    if (sample.availableOutKbps !== null) rows.push([t("Available to send"), number(sample.availableOutKbps, "kbit/s")]);
    const tracks = [
      ...sample.outbound.map((track) => {
        const text = trackText(track, track.kind === "video" ? t("Your camera or screen") : t("Your microphone"));
        return track.limitation !== "none" && track.kind === "video"
          ? `${text} (${t("limited by {reason}", { reason: LIMITATIONS[track.limitation] ? LIMITATIONS[track.limitation]() : track.limitation })})`
          : text;
      }),
      ...sample.inbound.map((track) => trackText(track, inboundOwner(sample, track))),
    ];
    const dl = el("dl", { class: "network-stats" });
    for (const [term, value] of rows) dl.append(el("dt", { text: term }), el("dd", { text: value }));
    const item = el(
      "li",
      { class: "network-connection", dataset: { leg: sample.leg, route: route(sample.path) || "none", candidate: sample.path ? sample.path.local : "none" } },
      el("h4", { text: connectionTitle(sample) }),
      dl,
    );
    if (tracks.length) {
      item.append(el("p", { class: "network-tracks-title", text: t("Tracks") }), el("ul", { class: "network-tracks" }, ...tracks.map((text) => el("li", { text }))));
    }
    items.push(item);
  }
  list.replaceChildren(...items);
  $("network-empty").hidden = items.length > 0;
}
