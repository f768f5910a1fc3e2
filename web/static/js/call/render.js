// The in-call view, drawn from the call state: video tiles (with each connection's quality),
// control buttons, the side panel (participants, waiting room, chat, connection details), the
// connection pill, the "video lowered" notice, the speaking outlines and the timer.
// Every function may run any number of times; each draws what the state says now.

import { $, call, config, lecture, links, localState, media, participants, peerId, root } from "./callstate.js";
import { t } from "./i18n.js";
import { moderate } from "./moderation.js";
import { describeVerdict, quality, renderDetails } from "./quality.js";
import { highlightSpeakers } from "./speaker.js";
import { renderPeople, renderWaiting, setToggle } from "./ui.js";

export function render() {
  if (root.dataset.view !== "incall") return;
  renderTiles();
  renderControls();
  renderPanel();
  renderConnection();
  renderNotice();
}

/** A tile's connection bars: the verdict's level and, in words, the verdict. */
function qualityOf(id) {
  const verdict = quality.verdictFor(id);
  return verdict && verdict.level ? { level: verdict.level, text: describeVerdict(verdict) } : null;
}

export function renderTiles() {
  const { stage, sfu, signaling, screenStream } = call;
  if (!stage) return;
  const wanted = new Set();
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
    quality: qualityOf(peerId),
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
      // Audio only: we receive no video, so the tile shows the avatar.
      video: peer.state.video && !call.audioOnly,
      hand: peer.state.hand,
      connected: peer.connected && (viaSfu ? sfu.subscribeState !== "failed" : !link || link.connectionState !== "failed"),
      sinkId: call.speakerId,
      quality: qualityOf(id),
    });
    const sfuScreen = sfu ? sfu.streamFor(id, "screen") : null;
    const screen = call.audioOnly ? null : sfuScreen && sfuScreen.getVideoTracks().length > 0
      ? sfuScreen
      : link && peer.state.screen ? link.streamById(peer.state.screen_stream) : null;
    if (screen) {
      wanted.add(`${id}:screen`);
      stage.upsert(`${id}:screen`, { kind: "screen", local: false, peerId: id, name: peer.name, stream: screen, audio: false, video: true, connected: peer.connected });
    }
  }
  for (const key of stage.keys()) if (!wanted.has(key)) stage.remove(key);
}

function renderControls() {
  const mic = $("btn-mic");
  setToggle(mic, localState.audio, "mic", t("Mute"), t("Unmute"));
  mic.querySelector(".tool-label").textContent = localState.audio ? t("Mute") : t("Unmute");
  const cam = $("btn-cam");
  // Its name is the words it shows (WCAG 2.5.3), so "say what you see" voice control finds it.
  setToggle(cam, localState.video, "cam", t("Stop video"), t("Start video"));
  cam.querySelector(".tool-label").textContent = localState.video ? t("Stop video") : t("Start video");

  const screen = $("btn-screen");
  const sharing = Boolean(call.screenStream);
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

  const audioOnly = $("btn-audio-only");
  audioOnly.classList.toggle("active", call.audioOnly);
  audioOnly.setAttribute("aria-pressed", String(call.audioOnly));
  audioOnly.setAttribute("aria-label", call.audioOnly ? t("Receive video again") : t("Audio only: stop receiving video"));
  audioOnly.title = audioOnly.getAttribute("aria-label");
  audioOnly.querySelector(".tool-label").textContent = t("Audio only");

  for (const [id, name] of [["btn-people", "Participants"], ["btn-chat", "Chat"], ["btn-network", "Connection details"], ["btn-settings", "Audio and video settings"], ["btn-leave", "Leave the call"]]) {
    $(id).setAttribute("aria-label", t(name));
    $(id).title = t(name);
  }
  $("btn-leave").querySelector(".tool-label").textContent = t("Leave");
  $("btn-settings").querySelector(".tool-label").textContent = t("Settings");
  $("btn-network").querySelector(".tool-label").textContent = t("Connection");
  renderBadges();
}

export function renderBadges() {
  const { waitingList, unreadChat } = call;
  const people = $("people-badge");
  people.hidden = waitingList.length === 0;
  people.textContent = String(waitingList.length);
  people.setAttribute("aria-label", t("{count} waiting", { count: waitingList.length }));
  const chat = $("chat-badge");
  chat.hidden = unreadChat === 0;
  chat.textContent = String(unreadChat);
  chat.setAttribute("aria-label", t("{count} unread", { count: unreadChat }));
}

export function renderPanel() {
  const { panel, waitingList } = call;
  const node = $("panel");
  node.hidden = panel === null;
  $("people-section").hidden = panel !== "people";
  $("chat-section").hidden = panel !== "chat";
  $("network-section").hidden = panel !== "network";
  for (const which of ["people", "chat", "network"]) {
    $(`btn-${which}`).setAttribute("aria-pressed", String(panel === which));
    $(`btn-${which}`).classList.toggle("active", panel === which);
  }
  $("panel-title").textContent = panel === "chat" ? t("Chat")
    : panel === "network" ? t("Connection details")
    : t("Participants ({count})", { count: participants.size });
  if (panel === "network") renderDetails($("network-list"));
  // The lists stay current even while hidden, so opening the panel shows the truth at once.
  const canModerate = Boolean(config.is_moderator);
  renderPeople($("people-list"), [...participants.values()], { selfId: peerId, canModerate, onAction: moderate });
  $("people-heading").textContent = t("In the call ({count})", { count: participants.size });
  $("waiting-block").hidden = !canModerate || waitingList.length === 0;
  renderWaiting($("waiting-list"), waitingList, moderate);
  if (lecture) lecture.render([...participants.values()].filter((peer) => peer.peer_id !== peerId));
  renderBadges();
}

export function renderConnection() {
  const { signaling, sfu } = call;
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

/** After each reading of the connections: the tiles' bars, the notice, the open details. */
export function renderQuality() {
  if (root.dataset.view !== "incall") return;
  renderTiles();
  renderNotice();
  if (call.panel === "network") renderDetails($("network-list"));
}

/** "Your video was lowered to save bandwidth", while the browser does so (and our camera is on). */
function renderNotice() {
  const notice = $("lowered-notice");
  const show = quality.videoLowered && localState.video;
  if (notice.hidden === !show) return;
  notice.hidden = !show;
  // A live region announces text that changes: set it only when the notice appears.
  notice.textContent = show ? t("Your video was lowered to save bandwidth. The others still hear you clearly.") : "";
}

/** Outline the tiles of the people talking now: each page reports its own `speaking` state. */
export function markSpeakers() {
  if (call.stage) highlightSpeakers(call.stage, participants, peerId, Boolean(localState.speaking && localState.audio));
}

export function tickTimer() {
  const seconds = Math.floor((Date.now() - call.joinedAt) / 1000);
  const h = Math.floor(seconds / 3600);
  const m = String(Math.floor((seconds % 3600) / 60)).padStart(2, "0");
  const s = String(seconds % 60).padStart(2, "0");
  $("call-timer").textContent = h ? `${h}:${m}:${s}` : `${m}:${s}`;
}
