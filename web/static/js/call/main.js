// The call page: pre-join screen → (waiting room) → call → left. Composes the pieces:
// devices.js (local capture), signaling.js (socket.io /call), peer.js (one RTCPeerConnection per
// remote peer, mode "p2p"), sfu.js (publish and subscribe connections with the media node, mode
// "sfu") and ui.js (rendering).

import { LocalMedia, LevelMeter, canChooseSpeaker } from "./devices.js";
import { setCatalog, t } from "./i18n.js";
import { LectureRoom } from "./lecture.js";
import { PeerLink } from "./peer.js";
import { RecordingControl } from "./recording.js";
import { SfuSession } from "./sfu.js";
import { CallSignaling } from "./signaling.js";
import { CasePanel } from "./casepanel.js";
import { SpeakingDetector, highlightSpeakers } from "./speaker.js";
import { Stage, appendChat, el, initials, avatarHue, renderPeople, renderWaiting, setBanner, toast } from "./ui.js";

// How long a peer's socket may be gone before the server drops it (JUNTA_RECONNECT_GRACE): past it,
// our peer connections are stale because the others have closed theirs.
const SERVER_GRACE_MS = 20000;
// Moving to the SFU: a P2P connection closes once the subscription carries that peer's media, or
// after this long (PROTOCOL.md, make-before-break).
const HANDOFF_MS = 10000;

const config = JSON.parse(document.getElementById("call-config").textContent);
setCatalog(config.i18n, config.lang);
/** The recording indicator, the moderator's record button and the consent notice. */
const recording = new RecordingControl({ initial: config.recording, isModerator: config.is_moderator });

const $ = (id) => document.getElementById(id);
const root = $("call");
const views = { prejoin: $("prejoin"), waiting: $("waiting"), incall: $("incall"), ended: $("ended") };

const peerId = crypto.randomUUID();
const media = new LocalMedia();
const meter = new LevelMeter(showLevel);
/** Lecture rooms: the audience's counts, and the moderators' paged viewer list. */
const lecture = config.room.kind === "lecture"
  ? new LectureRoom({ request: (event, payload) => signaling.request(event, payload), isModerator: Boolean(config.is_moderator), root: $("call"), toasts: $("toasts") })
  : null;
/** A review session's agenda and the case under discussion, beside the video. */
const casePanel = config.case_panel && $("casepanel")
  ? new CasePanel({ root: $("casepanel"), agendaUrl: config.case_panel.agenda_url, canMove: Boolean(config.is_moderator), request: (event, payload) => signaling.request(event, payload), toasts: $("toasts") })
  : null;
/** Our microphone's speaking state, told to the room when it changes (throttled). */
const speaking = new SpeakingDetector((on) => {
  if (signaling && canPublish && Boolean(localState.speaking) !== on) sendState({ speaking: on });
});
/** Everyone in the room (server Peers, including ourselves), by peer_id. */
const participants = new Map();
/** One PeerLink per remote peer. */
const links = new Map();
/** The same connections as plain RTCPeerConnections, for tests and debugging. */
const pcs = new Map();

let signaling = null;
let stage = null;
let screenStream = null;
let waitingList = [];
let panel = null; // "people" | "chat" | null
let unreadChat = 0;
let joinedAt = 0;
let disconnectedAt = 0;
let iceServers = [];
let speakerId = "";
/** "p2p" (one PeerLink per remote peer) or "sfu" (the SfuSession), as the server decides. */
let mode = "p2p";
/** The publish and subscribe connections with the media node, in SFU mode. */
let sfu = null;
/** Whether our grant lets us publish (read from the join token's claims). */
let canPublish = true;
/** P2P links being handed over to the SFU: peer_id → the timer that closes them at the latest. */
const handoffs = new Map();
const localState = { audio: true, video: true, screen: false, hand: false, screen_stream: null };
/** The last room events seen (peer joined/left, signaling status), newest last. */
const eventLog = [];

function logEvent(type, detail = {}) {
  eventLog.push({ type, at: Date.now(), ...detail });
  if (eventLog.length > 200) eventLog.shift();
}

// A read-only window onto the call for tests and support staff.
window.junta = Object.freeze({
  peerId,
  peers: participants,
  pcs,
  links,
  events: eventLog,
  /** "p2p" or "sfu". */
  get mode() {
    return mode;
  },
  /** The SfuSession (publishPc, subscribePc, streams, tracksByMid) in SFU mode, else null. */
  get sfu() {
    return sfu;
  },
  /** The RTCPeerConnection that carries `remote`'s media now: its P2P one, or the subscription. */
  mediaPc(remote) {
    const link = links.get(remote);
    if (sfu && sfu.subscribePc && (!link || sfu.receiving(remote))) return sfu.subscribePc;
    return link ? link.pc : null;
  },
  /** What the page knows of the room's recording (and our answer). */
  recording: () => recording.snapshot(),
  state: () => ({
    view: root.dataset.view,
    mode,
    sfu: sfu ? sfu.snapshot() : null,
    signaling: signaling ? signaling.status : "idle",
    local: { ...localState },
    joinCount: signaling ? signaling.joinCount : 0,
    peers: [...participants.values()].map((p) => ({ ...p, state: { ...p.state } })),
    waiting: waitingList.map((p) => p.peer_id),
    links: [...links.values()].map((l) => ({ peer_id: l.remoteId, polite: l.polite, connection: l.connectionState, ice: l.pc.iceConnectionState, iceRestarts: l.iceRestarts })),
  }),
});

function show(view) {
  root.dataset.view = view;
  for (const [name, node] of Object.entries(views)) node.hidden = name !== view;
}

// ------------------------------------------------------------------------------------ pre-join

async function prejoin() {
  show("prejoin");
  $("preview-avatar").textContent = initials(config.user.name);
  $("preview-avatar").style.setProperty("--hue", avatarHue(config.user.id));
  $("field-speaker").hidden = !canChooseSpeaker();
  media.addEventListener("change", renderPrejoin);
  media.addEventListener("track", ({ detail }) => {
    if (detail.kind === "audio" && root.dataset.view === "prejoin") meter.attach(detail.track);
  });
  $("prejoin-mic").addEventListener("click", () => {
    media.setAudioEnabled(!media.audioEnabled);
  });
  $("prejoin-cam").addEventListener("click", async () => {
    $("prejoin-cam").disabled = true;
    await media.setVideoEnabled(!media.videoEnabled);
    $("prejoin-cam").disabled = false;
  });
  $("select-camera").addEventListener("change", (e) => media.useCamera(e.target.value));
  $("select-microphone").addEventListener("change", (e) => media.useMicrophone(e.target.value));
  $("select-speaker").addEventListener("change", (e) => {
    speakerId = e.target.value;
  });
  $("test-speaker").addEventListener("click", playTestTone);
  $("join-button").addEventListener("click", join);
  recording.setupPrejoin();
  $("waiting-leave").addEventListener("click", leave);
  $("rejoin-button").addEventListener("click", () => window.location.reload());
  navigator.mediaDevices?.addEventListener?.("devicechange", fillDeviceLists);

  renderPrejoin();
  $("join-button").textContent = t("Checking your camera and microphone…");
  await media.open();
  meter.attach(media.audioTrack);
  await fillDeviceLists();
  $("join-button").textContent = t("Join now");
  $("join-button").disabled = false;
  renderPrejoin();
  $("join-button").focus();
}

function renderPrejoin() {
  if (root.dataset.view !== "prejoin") return;
  const video = $("preview-video");
  const cameraShown = media.videoEnabled && Boolean(media.videoTrack);
  // A <video> on a stream without video never loads, and would hold the page's load event.
  const source = cameraShown ? media.stream : null;
  if (video.srcObject !== source) video.srcObject = source;
  $("preview-off").hidden = cameraShown;
  video.hidden = !cameraShown;
  setToggle($("prejoin-mic"), media.audioEnabled, "mic", t("Turn off microphone"), t("Turn on microphone"));
  setToggle($("prejoin-cam"), media.videoEnabled, "cam", t("Turn off camera"), t("Turn on camera"));
  $("prejoin-mic").disabled = !media.audioTrack;
  $("preview-off-text").textContent = media.errors.video ? deviceMessage("video", media.errors.video) : t("Your camera is off");

  const messages = [];
  for (const kind of ["audio", "video"]) {
    if (media.errors[kind]) messages.push(deviceMessage(kind, media.errors[kind]));
  }
  if (media.errors.audio === "denied" || media.errors.video === "denied") {
    messages.push(t("To allow them, click the camera icon in the address bar, choose Allow and reload the page."));
  }
  if (media.errors.audio && media.errors.video) {
    messages.push(t("You can still join to listen and chat."));
  }
  const box = $("device-messages");
  box.replaceChildren(...messages.map((text) => el("p", { text })));
  box.hidden = messages.length === 0;
}

function deviceMessage(kind, code) {
  const audio = kind === "audio";
  switch (code) {
    case "denied":
      return audio ? t("The browser blocked the microphone.") : t("The browser blocked the camera.");
    case "missing":
      return audio ? t("No microphone was found.") : t("No camera was found.");
    case "busy":
      return audio ? t("The microphone is in use by another application.") : t("The camera is in use by another application.");
    case "unsupported":
      return t("This browser cannot capture audio or video. Use a recent Chrome, Edge or Firefox.");
    default:
      return audio ? t("The microphone could not be started.") : t("The camera could not be started.");
  }
}

async function fillDeviceLists() {
  const { cameras, microphones, speakers } = await media.listDevices();
  for (const prefix of ["select", "call"]) {
    fillSelect($(`${prefix}-camera`), cameras, media.cameraId, t("No camera"));
    fillSelect($(`${prefix}-microphone`), microphones, media.microphoneId, t("No microphone"));
    fillSelect($(`${prefix}-speaker`), speakers, speakerId, t("System default"));
  }
}

/** Change camera, microphone or speaker during the call (tracks are replaced, not renegotiated). */
async function openSettings() {
  $("call-speaker-field").hidden = !canChooseSpeaker();
  $("settings-title").textContent = t("Audio and video settings");
  $("settings-close").textContent = t("Done");
  await fillDeviceLists();
  $("settings-dialog").showModal();
}

function fillSelect(select, devices, selected, emptyLabel) {
  const options = devices.map((device, index) =>
    el("option", { value: device.deviceId, selected: device.deviceId === selected }, device.label || `${emptyLabel} ${index + 1}`),
  );
  if (options.length === 0) options.push(el("option", { value: "" }, emptyLabel));
  select.replaceChildren(...options);
  select.disabled = devices.length === 0;
}

function showLevel(level) {
  $("level-fill").style.transform = `scaleX(${level.toFixed(3)})`;
  $("level-meter").setAttribute("aria-valuenow", String(Math.round(level * 100)));
}

async function playTestTone() {
  const context = new AudioContext();
  try {
    if (speakerId && typeof context.setSinkId === "function") await context.setSinkId(speakerId);
    const oscillator = context.createOscillator();
    const gain = context.createGain();
    gain.gain.setValueAtTime(0.2, context.currentTime);
    gain.gain.exponentialRampToValueAtTime(0.001, context.currentTime + 0.8);
    oscillator.frequency.value = 660;
    oscillator.connect(gain).connect(context.destination);
    oscillator.start();
    oscillator.stop(context.currentTime + 0.8);
    oscillator.onended = () => context.close();
  } catch (error) {
    console.warn("junta: test tone failed: %s", error);
    context.close();
  }
}

// ------------------------------------------------------------------------------------ joining

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
  iceServers = grant.ice_servers || [];
  canPublish = tokenClaims(grant.token).publish !== false;
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

async function join() {
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
  signaling = new CallSignaling({
    peerId,
    protocol: config.protocol,
    fetchGrant,
    currentState: () => ({ ...localState }),
  });
  recording.attach(signaling); // before our own "joined" listener: consent goes out first
  signaling.addEventListener("joined", ({ detail }) => onJoined(detail));
  signaling.addEventListener("waiting-room", () => show("waiting"));
  signaling.addEventListener("status", ({ detail }) => onStatus(detail.status));
  signaling.addEventListener("fatal", ({ detail }) => ended(fatalText(detail.code)));
  signaling.addEventListener("peer-joined", ({ detail }) => onPeerJoined(detail));
  signaling.addEventListener("peer-left", ({ detail }) => onPeerLeft(detail));
  signaling.addEventListener("signal", ({ detail }) => onSignal(detail));
  signaling.addEventListener("peer-state", ({ detail }) => onPeerState(detail));
  signaling.addEventListener("chat", ({ detail }) => onChat(detail));
  signaling.addEventListener("waiting", ({ detail }) => onWaitingList(detail.peers || []));
  signaling.addEventListener("moderated", ({ detail }) => onModerated(detail));
  signaling.addEventListener("mode", ({ detail }) => onMode(detail));
  signaling.addEventListener("sfu", ({ detail }) => onSfu(detail));
  signaling.addEventListener("audience", ({ detail }) => lecture && lecture.setCounts(detail));
  signaling.addEventListener("agenda", ({ detail }) => casePanel && casePanel.onAgenda(detail));
  signaling.addEventListener("join-retry", ({ detail }) => onJoinRetry(detail.code));
  try {
    await signaling.start();
  } catch (error) {
    button.disabled = false;
    button.textContent = t("Join now");
  }
}

function fatalText(code) {
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

function onJoined({ ack, rejoin }) {
  logEvent(rejoin ? "rejoined" : "joined", { peers: (ack.peers || []).map((p) => p.peer_id) });
  const firstTime = root.dataset.view !== "incall";
  if (firstTime) enterCall();
  const stale = rejoin && disconnectedAt && Date.now() - disconnectedAt > SERVER_GRACE_MS;
  disconnectedAt = 0;

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
    if (sfu && stale) leaveSfu();
    if (sfu) sfu.resume(iceServers);
    else enterSfu();
  } else if (mode === "sfu") {
    leaveSfu();
  }
  if (ack.self) participants.set(peerId, ack.self);
  for (const peer of ack.peers || []) {
    participants.set(peer.peer_id, peer);
    const link = links.get(peer.peer_id);
    if (link) link.updateIceServers(iceServers);
    else if (mode === "p2p") openLink(peer.peer_id, rejoin && !stale);
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
  if (mediaUnavailable) {
    mediaUnavailable = false;
    setBanner($("call-banner"), null);
  }
  const log = $("chat-log");
  for (const message of ack.chat || []) appendChat(log, message, peerId);
  render();
}

function enterCall() {
  show("incall");
  joinedAt = Date.now();
  stage = new Stage($("stage"));
  bindControls();
  setInterval(tickTimer, 1000);
  tickTimer();
  setInterval(markSpeakers, 400);
  speaking.attach(media.audioTrack);
  if (lecture) lecture.mount($("connection-pill").parentElement, $("people-section"));
  media.addEventListener("track", ({ detail }) => {
    if (detail.kind === "audio") speaking.attach(detail.track);
    for (const link of links.values()) link.replaceTrack(detail.kind, detail.track).catch(() => {});
    if (sfu) sfu.replaceTrack(detail.kind, detail.track).catch(() => {});
    render();
  });
}

function onStatus(status) {
  logEvent("status", { status });
  const banner = $("call-banner");
  if (status === "reconnecting") {
    disconnectedAt = disconnectedAt || Date.now();
    setBanner(banner, t("Connection lost. Reconnecting… Your video keeps flowing while we reconnect."));
  } else if (status === "joined" || status === "waiting") {
    if (!banner.hidden) {
      setBanner(banner, t("Reconnected."), "ok");
      setTimeout(() => {
        if (signaling && signaling.status === "joined") setBanner(banner, null);
      }, 2500);
    }
  } else if (status === "closed") {
    setBanner(banner, null);
  }
  renderConnection();
}

// ------------------------------------------------------------------------------------ peers

/**
 * Open the connection to a remote peer. The `initiator` offers first: the side that was in the
 * room already (it hears `peer-joined`); a page that rejoins after a blip offers to peers that
 * arrived meanwhile (they found it in their join answer and wait for its offer).
 */
function openLink(remoteId, initiator) {
  const link = new PeerLink({
    localId: peerId,
    remoteId,
    initiator,
    iceServers,
    send: (message) => signaling.request("signal", message),
    localMedia: () => ({
      camera: media.stream,
      audioTrack: media.audioTrack,
      videoTrack: media.videoEnabled ? media.videoTrack : null,
      screen: screenStream,
    }),
  });
  link.addEventListener("change", () => {
    renderTiles();
    renderConnection();
  });
  links.set(remoteId, link);
  pcs.set(remoteId, link.pc);
  return link;
}

function dropLink(remoteId) {
  const link = links.get(remoteId);
  if (link) link.close();
  links.delete(remoteId);
  pcs.delete(remoteId);
  clearTimeout(handoffs.get(remoteId));
  handoffs.delete(remoteId);
}

// ------------------------------------------------------------------------------------ SFU mode

function onMode({ mode: wanted } = {}) {
  logEvent("mode", { mode: wanted });
  // Before the join is answered, the ack's `mode` field decides.
  if (root.dataset.view !== "incall" || !signaling || signaling.status !== "joined") return;
  if (wanted === "sfu" && mode !== "sfu") enterSfu();
  else if (wanted === "p2p" && mode === "sfu") leaveSfu(true);
}

function onSfu(message) {
  if (message && message.kind === "moved") {
    // The room's media node died; the room is on another one now: connect to it anew.
    logEvent("sfu-moved");
    if (sfu) sfu.moved();
    return;
  }
  if (!message || message.kind !== "offer") return;
  logEvent("sfu-offer", { tracks: Object.keys(message.tracks || {}).length });
  // An offer means the room is on the SFU, whatever we heard (or missed) before.
  if (!sfu) enterSfu();
  sfu.receive(message);
}

/** Make-before-break: open the SFU legs; P2P links stay until the SFU carries their peer. */
function enterSfu() {
  if (sfu) return;
  mode = "sfu";
  logEvent("sfu-start");
  sfu = new SfuSession({
    iceServers,
    publish: canPublish,
    request: (payload) => signaling.request("sfu", payload),
    localMedia: () => ({
      camera: media.stream,
      audioTrack: media.audioTrack,
      videoTrack: media.videoEnabled ? media.videoTrack : null,
      screen: screenStream,
    }),
  });
  sfu.addEventListener("trouble", () => {
    toast($("toasts"), t("The connection with the media server failed. Retrying…"), { kind: "warn" });
  });
  sfu.addEventListener("change", () => {
    handOver();
    renderTiles();
    renderConnection();
  });
  for (const id of links.keys()) {
    handoffs.set(id, setTimeout(() => {
      if (mode === "sfu" && links.has(id)) {
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

/** Back to P2P (the room emptied and started again without the SFU). */
function leaveSfu(reopenLinks = false) {
  if (sfu) sfu.close();
  sfu = null;
  mode = "p2p";
  logEvent("sfu-stop");
  if (reopenLinks) {
    for (const id of participants.keys()) {
      if (id !== peerId && !links.has(id)) openLink(id, id < peerId);
    }
  }
  render();
}

function forgetPeer(remoteId) {
  dropLink(remoteId);
  participants.delete(remoteId);
}

function onPeerJoined(peer) {
  logEvent("peer-joined", { peer_id: peer.peer_id });
  const known = participants.has(peer.peer_id);
  participants.set(peer.peer_id, peer);
  // A peer_id we already had means that page reconnected after the server dropped it: it has
  // a new RTCPeerConnection, so ours must be new too.
  if (links.has(peer.peer_id)) dropLink(peer.peer_id);
  // In SFU mode the peer's media comes through the subscription.
  if (mode === "p2p") openLink(peer.peer_id, true);
  if (!known) toast($("toasts"), t("{name} joined", { name: peer.name }));
  render();
}

function onPeerLeft({ peer_id: id, reason }) {
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

function onSignal(message) {
  const from = message.from;
  if (!from || from === peerId) return;
  let link = links.get(from);
  if (!link) {
    // In SFU mode, a P2P signal only matters to a link still being handed over.
    if (mode === "sfu") return;
    // A signal can overtake its peer-joined; the peer's details follow.
    link = openLink(from, false);
  }
  link.receive(message);
}

function onPeerState({ peer_id: id, state, connected }) {
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

// ------------------------------------------------------------------------------------ local controls

function bindControls() {
  $("btn-mic").addEventListener("click", toggleMic);
  $("btn-cam").addEventListener("click", toggleCamera);
  $("btn-screen").addEventListener("click", toggleScreen);
  $("btn-hand").addEventListener("click", () => sendState({ hand: !localState.hand }));
  $("btn-people").addEventListener("click", () => togglePanel("people"));
  $("btn-chat").addEventListener("click", () => togglePanel("chat"));
  $("btn-settings").addEventListener("click", openSettings);
  $("call-camera").addEventListener("change", (e) => media.useCamera(e.target.value));
  $("call-microphone").addEventListener("change", (e) => media.useMicrophone(e.target.value));
  $("call-speaker").addEventListener("change", (e) => {
    speakerId = e.target.value;
    render();
  });
  $("panel-close").addEventListener("click", () => togglePanel(null));
  $("btn-leave").addEventListener("click", leave);
  $("chat-form").addEventListener("submit", sendChat);
  $("chat-input").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      $("chat-form").requestSubmit();
    }
  });
  if (!navigator.mediaDevices || !navigator.mediaDevices.getDisplayMedia) $("btn-screen").hidden = true;
  document.addEventListener("keydown", (event) => {
    const target = event.target;
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (target instanceof HTMLElement && target.closest("input, textarea, select, [contenteditable]")) return;
    const actions = { m: toggleMic, v: toggleCamera, r: () => sendState({ hand: !localState.hand }), c: () => togglePanel("chat"), p: () => togglePanel("people") };
    const action = actions[event.key.toLowerCase()];
    if (action && root.dataset.view === "incall") {
      event.preventDefault();
      action();
    }
  });
}

function toggleMic() {
  if (!media.audioTrack) {
    toast($("toasts"), deviceMessage("audio", media.errors.audio || "missing"), { kind: "warn" });
    return;
  }
  const on = media.setAudioEnabled(!media.audioEnabled);
  sendState({ audio: on });
}

async function toggleCamera() {
  const button = $("btn-cam");
  button.disabled = true;
  try {
    const on = await media.setVideoEnabled(!media.videoEnabled);
    if (!on && media.errors.video) toast($("toasts"), deviceMessage("video", media.errors.video), { kind: "warn" });
    await sendState({ video: on });
  } finally {
    button.disabled = false;
  }
}

async function toggleScreen() {
  if (screenStream) return stopScreen();
  let stream;
  try {
    stream = await navigator.mediaDevices.getDisplayMedia({ video: { frameRate: { ideal: 15, max: 30 } }, audio: false });
  } catch (error) {
    if (error.name !== "NotAllowedError" && error.name !== "AbortError") {
      toast($("toasts"), t("The screen could not be shared."), { kind: "warn" });
    }
    return;
  }
  const track = stream.getVideoTracks()[0];
  if ("contentHint" in track) track.contentHint = "detail";
  // The browser's own "Stop sharing" button ends the track.
  track.addEventListener("ended", () => {
    if (screenStream === stream) stopScreen();
  });
  screenStream = stream;
  // Announce the stream id before the track arrives, so receivers place it as a screen at once.
  await sendState({ screen: true, screen_stream: stream.id });
  for (const link of links.values()) link.setScreen(stream);
  if (sfu) sfu.setScreen(stream);
  render();
}

async function stopScreen() {
  const stream = screenStream;
  screenStream = null;
  if (stream) for (const track of stream.getTracks()) track.stop();
  for (const link of links.values()) link.setScreen(null);
  if (sfu) sfu.setScreen(null);
  await sendState({ screen: false, screen_stream: null });
  render();
}

async function sendState(partial) {
  Object.assign(localState, partial);
  const self = participants.get(peerId);
  if (self) self.state = { ...self.state, ...partial };
  render();
  if (!signaling) return;
  try {
    const ack = await signaling.request("state", partial);
    if (ack.state && self) self.state = ack.state;
  } catch (error) {
    console.warn("junta: state not sent: %s", error.code || error);
  }
}

async function sendChat(event) {
  event.preventDefault();
  const input = $("chat-input");
  const text = input.value.trim();
  if (!text) return;
  $("chat-send").disabled = true;
  try {
    const ack = await signaling.request("chat", { text });
    input.value = "";
    if (ack.message) appendChat($("chat-log"), ack.message, peerId);
  } catch (error) {
    toast($("toasts"), error.code === "rate_limited" ? t("You are sending messages too fast.") : t("The message could not be sent."), { kind: "warn" });
  } finally {
    $("chat-send").disabled = false;
    input.focus();
  }
}

function onChat(message) {
  const added = appendChat($("chat-log"), message, peerId);
  if (added && panel !== "chat" && message.peer_id !== peerId) {
    unreadChat += 1;
    renderBadges();
    toast($("toasts"), `${message.name}: ${message.text.slice(0, 80)}`);
  }
}

function togglePanel(which) {
  panel = panel === which ? null : which;
  if (panel === "chat") unreadChat = 0;
  renderPanel();
  if (panel === "chat") $("chat-input").focus();
}

// ------------------------------------------------------------------------------------ moderation

function onWaitingList(peers) {
  const before = new Set(waitingList.map((p) => p.peer_id));
  waitingList = peers;
  for (const peer of peers) {
    if (!before.has(peer.peer_id)) toast($("toasts"), t("{name} is waiting to be admitted", { name: peer.name }), { kind: "info", ms: 6000 });
  }
  render();
}

/** Ask in a modal dialog; resolves true when the user confirms. */
function confirmAction(text, okLabel) {
  const dialog = $("confirm-dialog");
  $("confirm-text").textContent = text;
  $("confirm-ok").textContent = okLabel;
  $("confirm-cancel").textContent = t("Cancel");
  dialog.returnValue = "";
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
    dialog.showModal();
    $("confirm-cancel").focus();
  });
}

async function moderate(action, peer) {
  if (action === "remove" && !(await confirmAction(t("Remove {name} from the call?", { name: peer.name }), t("Remove")))) return;
  try {
    await signaling.request("moderate", { action, target: peer.peer_id });
  } catch (error) {
    toast($("toasts"), t("That action failed ({code}).", { code: error.code || "error" }), { kind: "warn" });
  }
}

/** The server could not take us in yet (`media_unavailable`: no media server); it retries. */
let mediaUnavailable = false;
function onJoinRetry(code) {
  if (code !== "media_unavailable") return;
  mediaUnavailable = true;
  setBanner($("call-banner"), t("The media server cannot be reached right now. Retrying…"));
}

/** A lecture moderator let us speak (we publish camera and microphone) or sent us back. */
async function onStage(on) {
  canPublish = on;
  if (lecture) lecture.setAudience(!on);
  localState.hand = false;
  toast($("toasts"), on ? t("A moderator invited you to speak: the others now see and hear you.") : t("You are back in the audience."), { kind: on ? "info" : "warn" });
  if (on && cameraWanted && !media.videoEnabled) {
    // Opened before the publish connection, which offers the tracks it finds.
    const open = await media.setVideoEnabled(true);
    sendState({ video: open });
  }
  if (sfu) sfu.setPublishing(on);
  if (!on) {
    if (screenStream) stopScreen();
    releaseCamera();
  }
  render();
}

/** Whether our camera was on before the audience released it (restored when we may speak). */
let cameraWanted = false;

/** Nobody sees the audience's cameras: release ours (its light goes off) while we only watch. */
function releaseCamera() {
  if (!media.videoEnabled) return;
  cameraWanted = true;
  media.setVideoEnabled(false).then(() => sendState({ video: false }));
}

function onModerated({ action, target }) {
  if (target !== peerId) return;
  if (action === "promote" || action === "demote") return onStage(action === "promote");
  if (action === "mute") {
    media.setAudioEnabled(false);
    localState.audio = false;
    toast($("toasts"), t("A moderator muted your microphone."), { kind: "warn" });
    render();
  } else if (action === "lower-hand") {
    localState.hand = false;
    toast($("toasts"), t("A moderator lowered your hand."));
    render();
  } else if (action === "remove") {
    ended(t("A moderator removed you from the call."));
  } else if (action === "refuse") {
    ended(t("The moderator did not admit you to this session."));
  }
}

// ------------------------------------------------------------------------------------ leaving

async function leave() {
  if (signaling) await signaling.leave();
  ended(null);
}

function ended(text) {
  if (signaling && !signaling.closed) signaling.close();
  if (screenStream) for (const track of screenStream.getTracks()) track.stop();
  screenStream = null;
  for (const id of [...links.keys()]) dropLink(id);
  if (sfu) sfu.close();
  sfu = null;
  media.stop();
  meter.close();
  speaking.close();
  $("ended-title").textContent = text ? t("You are no longer in the call") : t("You left the call");
  $("ended-text").textContent = text || t("You can close this page or join again.");
  show("ended");
}

// ------------------------------------------------------------------------------------ rendering

function render() {
  if (root.dataset.view !== "incall") return;
  renderTiles();
  renderControls();
  renderPanel();
  renderConnection();
}

function renderTiles() {
  if (!stage) return;
  const wanted = new Set();
  const self = participants.get(peerId);
  const selfName = config.user.name;
  wanted.add("self:camera");
  stage.upsert("self:camera", {
    kind: "camera",
    local: true,
    peerId,
    name: selfName,
    stream: media.stream,
    audio: localState.audio,
    video: localState.video && Boolean(media.videoTrack),
    hand: localState.hand,
    connected: !signaling || signaling.status === "joined",
  });
  if (screenStream) {
    wanted.add("self:screen");
    stage.upsert("self:screen", { kind: "screen", local: true, peerId, name: selfName, stream: screenStream, audio: false, video: true, connected: true });
  }
  for (const [id, peer] of participants) {
    if (id === peerId) continue;
    const link = links.get(id);
    // While a link is handed over to the SFU, the tile keeps its P2P stream until then.
    const viaSfu = Boolean(sfu) && (!link || sfu.receiving(id));
    const key = `${id}:camera`;
    wanted.add(key);
    stage.upsert(key, {
      kind: "camera",
      local: false,
      peerId: id,
      name: peer.name,
      stream: viaSfu ? sfu.streamFor(id, "camera") : link ? link.cameraStream : null,
      audio: peer.state.audio,
      video: peer.state.video,
      hand: peer.state.hand,
      connected: peer.connected && (viaSfu ? sfu.subscribeState !== "failed" : !link || link.connectionState !== "failed"),
      sinkId: speakerId,
    });
    const sfuScreen = sfu ? sfu.streamFor(id, "screen") : null;
    const screen = sfuScreen && sfuScreen.getVideoTracks().length > 0
      ? sfuScreen
      : link && peer.state.screen ? link.streamById(peer.state.screen_stream) : null;
    if (screen) {
      wanted.add(`${id}:screen`);
      stage.upsert(`${id}:screen`, { kind: "screen", local: false, peerId: id, name: peer.name, stream: screen, audio: false, video: true, connected: peer.connected });
    }
  }
  for (const key of stage.keys()) if (!wanted.has(key)) stage.remove(key);
  void self;
}

function setToggle(button, on, iconName, onLabel, offLabel) {
  const label = on ? onLabel : offLabel;
  button.setAttribute("aria-label", label);
  button.title = label;
  button.classList.toggle("off", !on);
  button.setAttribute("aria-pressed", on ? "false" : "true");
  const use = button.querySelector("use");
  if (use) use.setAttribute("href", `#i-${on ? iconName : `${iconName}-off`}`);
}

function renderControls() {
  const mic = $("btn-mic");
  setToggle(mic, localState.audio, "mic", t("Mute"), t("Unmute"));
  mic.querySelector(".tool-label").textContent = localState.audio ? t("Mute") : t("Unmute");
  const cam = $("btn-cam");
  setToggle(cam, localState.video, "cam", t("Turn off camera"), t("Turn on camera"));
  cam.querySelector(".tool-label").textContent = localState.video ? t("Stop video") : t("Start video");

  const screen = $("btn-screen");
  const sharing = Boolean(screenStream);
  screen.classList.toggle("active", sharing);
  screen.setAttribute("aria-pressed", String(sharing));
  screen.setAttribute("aria-label", sharing ? t("Stop sharing screen") : t("Share screen"));
  screen.title = screen.getAttribute("aria-label");
  screen.querySelector(".tool-label").textContent = sharing ? t("Stop sharing") : t("Share");

  const hand = $("btn-hand");
  hand.classList.toggle("active", localState.hand);
  hand.setAttribute("aria-pressed", String(localState.hand));
  hand.setAttribute("aria-label", localState.hand ? t("Lower hand") : t("Raise hand"));
  hand.title = hand.getAttribute("aria-label");
  hand.querySelector(".tool-label").textContent = localState.hand ? t("Lower hand") : t("Raise hand");

  for (const [id, name] of [["btn-people", "Participants"], ["btn-chat", "Chat"], ["btn-settings", "Audio and video settings"], ["btn-leave", "Leave the call"]]) {
    $(id).setAttribute("aria-label", t(name));
    $(id).title = t(name);
  }
  $("btn-leave").querySelector(".tool-label").textContent = t("Leave");
  $("btn-settings").querySelector(".tool-label").textContent = t("Settings");
  renderBadges();
}

function renderBadges() {
  const people = $("people-badge");
  people.hidden = waitingList.length === 0;
  people.textContent = String(waitingList.length);
  people.setAttribute("aria-label", t("{count} waiting", { count: waitingList.length }));
  const chat = $("chat-badge");
  chat.hidden = unreadChat === 0;
  chat.textContent = String(unreadChat);
  chat.setAttribute("aria-label", t("{count} unread", { count: unreadChat }));
}

function renderPanel() {
  const node = $("panel");
  node.hidden = panel === null;
  $("people-section").hidden = panel !== "people";
  $("chat-section").hidden = panel !== "chat";
  $("btn-people").setAttribute("aria-pressed", String(panel === "people"));
  $("btn-chat").setAttribute("aria-pressed", String(panel === "chat"));
  $("btn-people").classList.toggle("active", panel === "people");
  $("btn-chat").classList.toggle("active", panel === "chat");
  $("panel-title").textContent = panel === "chat" ? t("Chat") : t("Participants ({count})", { count: participants.size });
  // The lists stay current even while hidden, so opening the panel shows the truth at once.
  const canModerate = Boolean(config.is_moderator);
  renderPeople($("people-list"), [...participants.values()], { selfId: peerId, canModerate, onAction: moderate });
  $("people-heading").textContent = t("In the call ({count})", { count: participants.size });
  $("waiting-block").hidden = !canModerate || waitingList.length === 0;
  renderWaiting($("waiting-list"), waitingList, moderate);
  if (lecture) lecture.render([...participants.values()].filter((peer) => peer.peer_id !== peerId));
  renderBadges();
}

function renderConnection() {
  const text = $("connection-text");
  const pill = $("connection-pill");
  if (!text) return;
  let label = t("Connected");
  let kind = "ok";
  if (signaling && signaling.status === "reconnecting") {
    label = t("Reconnecting…");
    kind = "warn";
  } else if (sfu) {
    const legs = [sfu.publishState, sfu.subscribeState].filter((state) => state !== "none");
    if (legs.some((state) => ["failed", "disconnected", "closed"].includes(state))) {
      label = t("Unstable connection");
      kind = "warn";
    } else if (participants.size <= 1) {
      label = t("Waiting for others to join");
      kind = "info";
    } else if (legs.length === 0 || legs.some((state) => ["new", "connecting"].includes(state))) {
      label = t("Connecting…");
      kind = "info";
    }
  } else if ([...links.values()].some((l) => ["failed", "disconnected"].includes(l.connectionState))) {
    label = t("Unstable connection");
    kind = "warn";
  } else if ([...links.values()].some((l) => ["new", "connecting"].includes(l.connectionState))) {
    label = t("Connecting…");
    kind = "info";
  } else if (links.size === 0) {
    label = t("Waiting for others to join");
    kind = "info";
  }
  text.textContent = label;
  pill.dataset.kind = kind;
}

/** Outline the tiles of the people talking now: each page reports its own `speaking` state. */
function markSpeakers() {
  if (stage) highlightSpeakers(stage, participants, peerId, Boolean(localState.speaking && localState.audio));
}

function tickTimer() {
  const seconds = Math.floor((Date.now() - joinedAt) / 1000);
  const h = Math.floor(seconds / 3600);
  const m = String(Math.floor((seconds % 3600) / 60)).padStart(2, "0");
  const s = String(seconds % 60).padStart(2, "0");
  $("call-timer").textContent = h ? `${h}:${m}:${s}` : `${m}:${s}`;
}

window.addEventListener("pagehide", () => {
  if (signaling && !signaling.closed) signaling.leave();
});

prejoin().catch((error) => {
  console.error("junta: pre-join failed", error);
  $("join-button").disabled = false;
  $("join-button").textContent = t("Join now");
});
