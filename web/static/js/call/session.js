// Joining the call and staying in it: the join grant, the signaling client, the join answer (on
// the first join and after every reconnection), the connection banner and the waiting list.

import {
  $, call, casePanel, config, guestLinks, ice, lecture, links, localState, logEvent, media, participants,
  peerId, recording, root, show,
} from "./callstate.js";
import { dropLink, enterSfu, forgetPeer, leaveSfu, openLink } from "./connections.js";
import { bindControls, speaking } from "./controls.js";
import { t } from "./i18n.js";
import { leave } from "./leaving.js";
import { releaseCamera } from "./moderated.js";
import { meter } from "./prejoin.js";
import { quality } from "./quality.js";
import { markSpeakers, render, renderConnection, tickTimer } from "./render.js";
import { CallSignaling } from "./signaling.js";
import { appendChat, setBanner, Stage, toast } from "./ui.js";

// How long a peer's socket may be gone before the server drops it (JUNTA_RECONNECT_GRACE, in
// seconds, passed in by room.html): past it, our peer connections are stale because the others
// have closed theirs.
const SERVER_GRACE_MS = config.reconnect_grace * 1000;

async function fetchGrant() {
  const csrf = document.querySelector('meta[name="csrf-token"]');
  const response = await fetch(config.join_url, {
    method: "POST",
    credentials: "same-origin",
    headers: { "X-CSRF-Token": csrf ? csrf.content : "", Accept: "application/json" },
  });
  if (!response.ok) {
    const error = new Error(`join API answered ${response.status}`);
    // Signed out, not invited, or no such room: retrying will not help.
    error.fatal = [401, 403, 404].includes(response.status);
    error.code = response.status === 401 ? "signed_out" : "join_refused";
    throw error;
  }
  const grant = await response.json();
  call.canPublish = tokenClaims(grant.token).publish !== false;
  return grant;
}

/** The (unverified) claims of a join token: base64url(JSON) before the dot. */
function tokenClaims(token) {
  try {
    const part = String(token).split(".")[0].replace(/-/g, "+").replace(/_/g, "/");
    const json = new TextDecoder().decode(Uint8Array.from(atob(part + "===".slice((part.length + 3) % 4)), (c) => c.charCodeAt(0)));
    return JSON.parse(json) || {};
  } catch {
    return {};
  }
}

/**
 * "Join now": after the recording consent (if any), start the signaling client; `listen` hooks
 * the page to its events (main.js), `onJoined` below among them.
 */
export async function join({ listen }) {
  const button = $("join-button");
  button.disabled = true;
  button.textContent = t("Joining…");
  // A session being recorded asks consent before we enter (and so before we publish).
  if (!(await recording.readyToJoin(fetchGrant))) {
    button.disabled = false;
    button.textContent = t("Join now");
    return;
  }
  localState.audio = media.audioEnabled;
  localState.video = media.videoEnabled;
  meter.detach();
  $("preview-video").srcObject = null; // the call shows our camera in its own tile
  call.signaling = new CallSignaling({
    peerId,
    protocol: config.protocol,
    fetchGrant,
    currentState: () => ({ ...localState }),
  });
  recording.attach(call.signaling); // before our own "joined" listener: consent goes out first
  listen(call.signaling);
  try {
    await call.signaling.start();
  } catch (error) {
    button.disabled = false;
    button.textContent = t("Join now");
  }
}

/** The words for a join that cannot succeed (`fatal` event), from its stable code. */
export function fatalText(code) {
  switch (code) {
    case "signed_out":
      return t("Your session has ended. Sign in again to rejoin.");
    case "join_refused":
    case "forbidden":
      return t("You are not invited to this session.");
    case "protocol_mismatch":
      return t("Junta was updated. Reload the page to join.");
    default:
      return t("The call could not be joined ({code}).", { code });
  }
}

/** The join answered, the first time or after a reconnection: the room as the server sees it. */
export function onJoined({ ack, rejoin }) {
  logEvent(rejoin ? "rejoined" : "joined", { peers: (ack.peers || []).map((p) => p.peer_id) });
  // The ICE servers come with admission: TURN credentials are only for those in the call. They
  // reach the connections we keep through ice's "change" (main.js), and new ones below.
  ice.set(ack.ice_servers, ack.ice_expires_in);
  const firstTime = root.dataset.view !== "incall";
  if (firstTime) enterCall();
  const stale = rejoin && call.disconnectedAt && Date.now() - call.disconnectedAt > SERVER_GRACE_MS;
  call.disconnectedAt = 0;

  const present = new Set((ack.peers || []).map((p) => p.peer_id));
  for (const id of [...links.keys()]) {
    if (!present.has(id) || stale) dropLink(id);
  }
  for (const id of [...participants.keys()]) {
    if (id !== peerId && !present.has(id)) forgetPeer(id);
  }
  // The server's mode decides: in SFU mode no new P2P connection is opened (the ones still open
  // are handed over); back in P2P (the room emptied while we were away) the SFU session ends.
  const newMode = ack.mode === "sfu" ? "sfu" : "p2p";
  if (newMode === "sfu") {
    if (call.sfu && stale) leaveSfu();
    if (call.sfu) call.sfu.resume(ice.servers);
    else enterSfu();
  } else if (call.mode === "sfu") {
    leaveSfu();
  }
  if (ack.self) participants.set(peerId, ack.self);
  for (const peer of ack.peers || []) {
    participants.set(peer.peer_id, peer);
    if (!links.has(peer.peer_id) && call.mode === "p2p") openLink(peer.peer_id, rejoin && !stale);
  }
  if (ack.waiting) onWaitingList(ack.waiting);
  if (lecture) {
    lecture.joined(ack);
    if (lecture.audience) releaseCamera();
  }
  if (casePanel) {
    casePanel.mount();
    casePanel.joined(ack);
  }
  if (guestLinks) guestLinks.mount();
  if (call.mediaUnavailable) {
    call.mediaUnavailable = false;
    setBanner($("call-banner"), null);
  }
  const log = $("chat-log");
  for (const message of ack.chat || []) appendChat(log, message, peerId);
  render();
}

function enterCall() {
  show("incall");
  call.joinedAt = Date.now();
  call.stage = new Stage($("stage"));
  bindControls({ leave });
  setInterval(tickTimer, 1000);
  tickTimer();
  setInterval(markSpeakers, 400);
  quality.start();
  speaking.attach(media.audioTrack);
  if (lecture) lecture.mount($("connection-pill").parentElement, $("people-section"));
  media.addEventListener("track", ({ detail }) => {
    if (detail.kind === "audio") speaking.attach(detail.track);
    for (const link of links.values()) link.replaceTrack(detail.kind, detail.track).catch(() => {});
    if (call.sfu) call.sfu.replaceTrack(detail.kind, detail.track).catch(() => {});
    render();
  });
}

export function onStatus(status) {
  logEvent("status", { status });
  const banner = $("call-banner");
  if (status === "reconnecting") {
    call.disconnectedAt = call.disconnectedAt || Date.now();
    setBanner(banner, t("Connection lost. Reconnecting… Your video keeps flowing while we reconnect."));
  } else if (status === "joined" || status === "waiting") {
    if (!banner.hidden) {
      setBanner(banner, t("Reconnected."), "ok");
      setTimeout(() => {
        if (call.signaling && call.signaling.status === "joined") setBanner(banner, null);
      }, 2500);
    }
  } else if (status === "closed") {
    setBanner(banner, null);
  }
  renderConnection();
}

/** The server could not take us in yet (`media_unavailable`: no media server); it retries. */
export function onJoinRetry(code) {
  if (code !== "media_unavailable") return;
  call.mediaUnavailable = true;
  setBanner($("call-banner"), t("The media server cannot be reached right now. Retrying…"));
}

/** A `waiting` event: who arrived in the waiting room (or came back to it) and who left it. */
export function onWaitingChange({ added = [], removed = [] } = {}) {
  const gone = new Set([...removed, ...added.map((p) => p.peer_id)]);
  onWaitingList([...call.waitingList.filter((p) => !gone.has(p.peer_id)), ...added]);
}

/** Who waits to be admitted: whole in a moderator's join ack, then as changes. */
export function onWaitingList(peers) {
  const before = new Set(call.waitingList.map((p) => p.peer_id));
  call.waitingList = peers;
  for (const peer of peers) {
    if (!before.has(peer.peer_id)) toast($("toasts"), t("{name} is waiting to be admitted", { name: peer.name }), { kind: "info", ms: 6000 });
  }
  render();
}
