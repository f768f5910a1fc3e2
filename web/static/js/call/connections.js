// The connections that carry the room's media and the room events that open and close them: one
// PeerLink per remote peer in mode "p2p", the SfuSession in mode "sfu", and the make-before-break
// handover from one to the other (README.md, "Through the SFU").

import {
  $, call, handoffs, ice, links, localMedia, localState, logEvent, media, participants, pcs, peerId,
  root,
} from "./callstate.js";
import { t } from "./i18n.js";
import { PeerLink } from "./peer.js";
import { render, renderConnection, renderTiles } from "./render.js";
import { SfuSession } from "./sfu.js";
import { setBanner, toast } from "./ui.js";

// Moving to the SFU: a P2P connection closes once the subscription carries that peer's media, or
// after this long (PROTOCOL.md, make-before-break).
const HANDOFF_MS = 10000;

// ------------------------------------------------------------------------------------ P2P links

/**
 * Open the connection to a remote peer. The `initiator` offers first: the side that was in the
 * room already (it hears `peer-joined`); a page that rejoins after a blip offers to peers that
 * arrived meanwhile (they found it in their join answer and wait for its offer).
 */
export function openLink(remoteId, initiator) {
  const link = new PeerLink({
    localId: peerId,
    remoteId,
    initiator,
    iceServers: ice.servers,
    freshIce: () => ice.ensureFresh(),
    send: (message) => call.signaling.request("signal", message),
    localMedia,
    receiveVideo: !call.audioOnly,
  });
  link.addEventListener("change", () => {
    renderTiles();
    renderConnection();
  });
  links.set(remoteId, link);
  pcs.set(remoteId, link.pc);
  return link;
}

/** Fresh ICE servers (a rejoin, or TURN credentials about to expire) for every connection. */
export function onIceServers(servers) {
  for (const link of links.values()) link.updateIceServers(servers);
  if (call.sfu) call.sfu.setIceServers(servers);
}

export function dropLink(remoteId) {
  const link = links.get(remoteId);
  if (link) link.close();
  links.delete(remoteId);
  pcs.delete(remoteId);
  clearTimeout(handoffs.get(remoteId));
  handoffs.delete(remoteId);
}

// ------------------------------------------------------------------------------------ SFU mode

export function onMode({ mode: wanted } = {}) {
  logEvent("mode", { mode: wanted });
  // Before the join is answered, the ack's `mode` field decides.
  if (root.dataset.view !== "incall" || !call.signaling || call.signaling.status !== "joined") return;
  if (wanted === "sfu" && call.mode !== "sfu") enterSfu();
  else if (wanted === "p2p" && call.mode === "sfu") leaveSfu(true);
}

export function onSfu(message) {
  if (message && message.kind === "moved") {
    // The room's media node died; the room is on another one now: connect to it anew.
    logEvent("sfu-moved");
    if (call.sfu) call.sfu.moved();
    return;
  }
  if (!message || message.kind !== "offer") return;
  logEvent("sfu-offer", { tracks: Object.keys(message.tracks || {}).length });
  // An offer means the room is on the SFU, whatever we heard (or missed) before.
  if (!call.sfu) enterSfu();
  call.sfu.receive(message);
}

/** Make-before-break: open the SFU legs; P2P links stay until the SFU carries their peer. */
export function enterSfu() {
  if (call.sfu) return;
  call.mode = "sfu";
  logEvent("sfu-start");
  const sfu = new SfuSession({
    iceServers: ice.servers,
    freshIce: () => ice.ensureFresh(),
    publish: call.canPublish,
    request: (payload) => call.signaling.request("sfu", payload),
    localMedia,
    receiveVideo: !call.audioOnly,
  });
  call.sfu = sfu;
  sfu.addEventListener("trouble", ({ detail }) => {
    // The publish limit has its own lasting message (below), not a passing toast.
    if (detail.code === "too_many_tracks") return;
    toast($("toasts"), t("The connection with the media server failed. Retrying…"), { kind: "warn" });
  });
  sfu.addEventListener("change", () => {
    // Shown while the server refuses our tracks (`too_many_tracks`); the leg retries by itself.
    setBanner($("publish-limit"), sfu.publishLimited && !sfu.closed
      ? t("You have reached the limit of new video and audio for now. Your camera, microphone and screen will be sent again as soon as the server allows it; retrying…")
      : null);
    handOver();
    renderTiles();
    renderConnection();
  });
  for (const id of links.keys()) {
    handoffs.set(id, setTimeout(() => {
      if (call.mode === "sfu" && links.has(id)) {
        logEvent("p2p-closed", { peer_id: id, why: "timeout" });
        dropLink(id);
        render();
      }
    }, HANDOFF_MS));
  }
  sfu.start();
  render();
}

/** Close each P2P link whose peer's media now arrives through the subscription. */
function handOver() {
  const sfu = call.sfu;
  if (!sfu) return;
  for (const id of [...links.keys()]) {
    const peer = participants.get(id);
    const kind = peer && peer.state.video === false ? undefined : "video";
    if (sfu.receiving(id, kind)) {
      logEvent("p2p-closed", { peer_id: id, why: "sfu" });
      dropLink(id);
    }
  }
}

/** Close the SFU session, if any, and what it shows. */
export function closeSfu() {
  if (call.sfu) call.sfu.close();
  call.sfu = null;
  setBanner($("publish-limit"), null);
}

/** Back to P2P (the room emptied and started again without the SFU). */
export function leaveSfu(reopenLinks = false) {
  closeSfu();
  call.mode = "p2p";
  logEvent("sfu-stop");
  if (reopenLinks) {
    for (const id of participants.keys()) {
      if (id !== peerId && !links.has(id)) openLink(id, id < peerId);
    }
  }
  render();
}

// ------------------------------------------------------------------------------------ peers

export function forgetPeer(remoteId) {
  dropLink(remoteId);
  participants.delete(remoteId);
}

export function onPeerJoined(peer) {
  logEvent("peer-joined", { peer_id: peer.peer_id });
  const known = participants.has(peer.peer_id);
  participants.set(peer.peer_id, peer);
  // A peer_id we already had means that page reconnected after the server dropped it: it has
  // a new RTCPeerConnection, so ours must be new too.
  if (links.has(peer.peer_id)) dropLink(peer.peer_id);
  // In SFU mode the peer's media comes through the subscription.
  if (call.mode === "p2p") openLink(peer.peer_id, true);
  if (!known) toast($("toasts"), t("{name} joined", { name: peer.name }));
  render();
}

export function onPeerLeft({ peer_id: id, reason }) {
  logEvent("peer-left", { peer_id: id, reason });
  const peer = participants.get(id);
  forgetPeer(id);
  if (peer) {
    const text = reason === "removed" ? t("{name} was removed", { name: peer.name })
      : reason === "demoted" ? t("{name} is back in the audience", { name: peer.name })
      : t("{name} left", { name: peer.name });
    toast($("toasts"), text);
  }
  render();
}

export function onSignal(message) {
  const from = message.from;
  if (!from || from === peerId) return;
  let link = links.get(from);
  if (!link) {
    // In SFU mode, a P2P signal only matters to a link still being handed over.
    if (call.mode === "sfu") return;
    // A signal can overtake its peer-joined; the peer's details follow.
    link = openLink(from, false);
  }
  link.receive(message);
}

export function onPeerState({ peer_id: id, state, connected }) {
  const peer = participants.get(id);
  if (id === peerId) {
    // The server's view of us (after a moderator action, for instance).
    if (state.audio === false && media.audioEnabled) media.setAudioEnabled(false);
    localState.hand = state.hand;
  }
  if (!peer) return;
  const wasConnected = peer.connected;
  peer.state = { ...peer.state, ...state };
  peer.connected = connected;
  if (id !== peerId && wasConnected && !connected) {
    toast($("toasts"), t("{name} is reconnecting…", { name: peer.name }), { kind: "warn" });
  }
  render();
}
