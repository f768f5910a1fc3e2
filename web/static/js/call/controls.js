// Our own controls in the call: microphone, camera, screen share, raised hand, audio only, the
// side panel and chat, the keyboard shortcuts; and `sendState`, which tells the room what
// changed about us.

import { $, call, links, localState, media, participants, peerId, root } from "./callstate.js";
import { t } from "./i18n.js";
import { deviceMessage, openSettings } from "./prejoin.js";
import { render, renderBadges, renderPanel } from "./render.js";
import { SpeakingDetector } from "./speaker.js";
import { appendChat, toast } from "./ui.js";

/** Our microphone's speaking state, told to the room when it changes (throttled). */
export const speaking = new SpeakingDetector((on) => {
  if (call.signaling && call.canPublish && Boolean(localState.speaking) !== on) sendState({ speaking: on });
});

/** Hook the call's buttons, device choices, chat form and shortcuts; `leave` ends the call. */
export function bindControls({ leave }) {
  $("btn-mic").addEventListener("click", toggleMic);
  $("btn-cam").addEventListener("click", toggleCamera);
  $("btn-screen").addEventListener("click", toggleScreen);
  $("btn-hand").addEventListener("click", () => sendState({ hand: !localState.hand }));
  $("btn-people").addEventListener("click", () => togglePanel("people"));
  $("btn-chat").addEventListener("click", () => togglePanel("chat"));
  $("btn-network").addEventListener("click", () => togglePanel("network"));
  $("btn-audio-only").addEventListener("click", () => setAudioOnly(!call.audioOnly));
  $("btn-settings").addEventListener("click", openSettings);
  $("call-camera").addEventListener("change", (e) => media.useCamera(e.target.value));
  $("call-microphone").addEventListener("change", (e) => media.useMicrophone(e.target.value));
  $("call-speaker").addEventListener("change", (e) => {
    call.speakerId = e.target.value;
    render();
  });
  $("panel-close").addEventListener("click", () => togglePanel(null));
  $("btn-shortcuts").addEventListener("click", openShortcuts);
  $("btn-leave").addEventListener("click", leave);
  $("chat-form").addEventListener("submit", sendChat);
  $("chat-input").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      $("chat-form").requestSubmit();
    }
  });
  if (!navigator.mediaDevices || !navigator.mediaDevices.getDisplayMedia) $("btn-screen").hidden = true;
  document.addEventListener("keydown", onShortcut);
}

// The call's shortcuts (listed in the shortcuts dialog, room.html, and on each button's
// aria-keyshortcuts), as Jitsi and Zoom users expect; "?" opens the list.
const SHORTCUTS = {
  m: toggleMic,
  v: toggleCamera,
  r: () => sendState({ hand: !localState.hand }),
  c: () => togglePanel("chat"),
  p: () => togglePanel("people"),
  "?": openShortcuts,
};

function onShortcut(event) {
  if (root.dataset.view !== "incall" || document.querySelector("dialog[open]")) return;
  if (event.key === "Escape" && call.panel !== null) {
    event.preventDefault();
    togglePanel(null);
    return;
  }
  // Never while typing (chat, a device list) or with a modifier the browser or system owns.
  const target = event.target;
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  if (target instanceof HTMLElement && target.closest("input, textarea, select, [contenteditable]")) return;
  const action = SHORTCUTS[event.key.toLowerCase()];
  if (action) {
    event.preventDefault();
    action();
  }
}

function openShortcuts() {
  $("shortcuts-dialog").showModal();
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
  // Busy while the camera switches: aria-disabled, not disabled, so the button keeps focus.
  if (button.getAttribute("aria-disabled") === "true") return;
  button.setAttribute("aria-disabled", "true");
  try {
    const on = await media.setVideoEnabled(!media.videoEnabled);
    if (!on && media.errors.video) toast($("toasts"), deviceMessage("video", media.errors.video), { kind: "warn" });
    await sendState({ video: on });
  } finally {
    button.removeAttribute("aria-disabled");
  }
}

async function toggleScreen() {
  if (call.screenStream) return stopScreen();
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
    if (call.screenStream === stream) stopScreen();
  });
  call.screenStream = stream;
  // Announce the stream id before the track arrives, so receivers place it as a screen at once.
  await sendState({ screen: true, screen_stream: stream.id });
  for (const link of links.values()) link.setScreen(stream);
  if (call.sfu) call.sfu.setScreen(stream);
  render();
}

export async function stopScreen() {
  const stream = call.screenStream;
  call.screenStream = null;
  if (stream) for (const track of stream.getTracks()) track.stop();
  for (const link of links.values()) link.setScreen(null);
  if (call.sfu) call.sfu.setScreen(null);
  await sendState({ screen: false, screen_stream: null });
  render();
}

/**
 * Audio only: stop (or start again) receiving video, to leave a weak link to the voices. P2P
 * links renegotiate their video as send-only; the SFU stops forwarding video to us.
 */
export function setAudioOnly(on) {
  call.audioOnly = on;
  for (const link of links.values()) link.setReceiveVideo(!on);
  if (call.sfu) call.sfu.setReceiveVideo(!on);
  render();
}

/** Change our state here at once, then tell the room (the server's answer is the truth). */
export async function sendState(partial) {
  Object.assign(localState, partial);
  const self = participants.get(peerId);
  if (self) self.state = { ...self.state, ...partial };
  render();
  if (!call.signaling) return;
  try {
    const ack = await call.signaling.request("state", partial);
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
    const ack = await call.signaling.request("chat", { text });
    input.value = "";
    if (ack.message) appendChat($("chat-log"), ack.message, peerId);
  } catch (error) {
    toast($("toasts"), error.code === "rate_limited" ? t("You are sending messages too fast.") : t("The message could not be sent."), { kind: "warn" });
  } finally {
    $("chat-send").disabled = false;
    input.focus();
  }
}

export function onChat(message) {
  const added = appendChat($("chat-log"), message, peerId);
  if (added && call.panel !== "chat" && message.peer_id !== peerId) {
    call.unreadChat += 1;
    renderBadges();
    toast($("toasts"), `${message.name}: ${message.text.slice(0, 80)}`);
  }
}

function togglePanel(which) {
  const closing = call.panel;
  call.panel = call.panel === which ? null : which;
  if (call.panel === "chat") call.unreadChat = 0;
  const focusWasInPanel = $("panel").contains(document.activeElement);
  renderPanel();
  if (call.panel === "chat") $("chat-input").focus();
  // Closed from inside (its close button, Escape): focus goes back to the button that opens it.
  else if (call.panel === null && closing && (focusWasInPanel || document.activeElement === document.body)) {
    $(`btn-${closing}`).focus();
  }
}
