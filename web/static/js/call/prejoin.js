// The pre-join screen and the device check: camera preview, microphone level, device choice,
// a test tone for the speaker, and messages when a device is blocked, missing or busy. The same
// device lists fill the in-call settings dialog.

import { $, call, config, media, recording, root, show } from "./callstate.js";
import { LevelMeter, canChooseSpeaker } from "./devices.js";
import { t } from "./i18n.js";
import { avatarHue, el, initials, setToggle } from "./ui.js";

/** The pre-join screen's microphone level (detached once in the call). */
export const meter = new LevelMeter(showLevel);

/** Show the pre-join screen and open the devices; `join` and `leave` are the page's actions. */
export async function prejoin({ join, leave }) {
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
    call.speakerId = e.target.value;
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

/** Why a device does not work, from LocalMedia's error code, in words the user can act on. */
export function deviceMessage(kind, code) {
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
    fillSelect($(`${prefix}-speaker`), speakers, call.speakerId, t("System default"));
  }
}

/** Change camera, microphone or speaker during the call (tracks are replaced, not renegotiated). */
export async function openSettings() {
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
    if (call.speakerId && typeof context.setSinkId === "function") await context.setSinkId(call.speakerId);
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
