// Recording in a call (signaling/PROTOCOL.md, "Recording"): the indicator everyone sees, the
// moderator's start/stop button, and the consent notice: on the pre-join screen when the session
// is being recorded already (told before entering), and as a modal dialog when a recording starts
// during the call. Each answer goes to the server with the notice's version and the page's
// language, so the server stores the very words shown here.

import { currentLanguage, t } from "./i18n.js";
import { toast } from "./ui.js";

// The notice, a msgid of the client catalog. The server stores its translation as the text the
// participant was shown (web/calls/recording_bridge.py NOTICE): the two must stay identical.
export const NOTICE =
  "This session is being recorded for the network's training library. Only the participants " +
  "who agree are recorded: if you do not agree, your camera, microphone and screen are left " +
  "out of the recording and you can stay in the call. The recording is shown only to the " +
  "people the network's rules allow, and every playback is logged.";

const $ = (id) => document.getElementById(id);

/** A recording refused or failed: the text the user reads, from the error's stable code. */
export function recordingErrorText(code) {
  switch (code) {
    case "forbidden":
      return t("Only a moderator can start or stop the recording.");
    case "media_unavailable":
      return t("The media server is not available, so the session cannot be recorded.");
    case "recording_unavailable":
      return t("Recording is not available on this server.");
    case "already_recording":
      return t("The session is already being recorded.");
    case "not_recording":
      return t("The session is not being recorded.");
    case "notice_outdated":
      return t("The recording notice has changed. Reload the page to answer it.");
    case "recording_failed":
      return t("The recorder failed. Try again in a moment.");
    default:
      return t("That action failed ({code}).", { code: code || "error" });
  }
}

function elapsed(sinceIso) {
  const started = Date.parse(sinceIso);
  const seconds = Number.isNaN(started) ? 0 : Math.max(0, Math.floor((Date.now() - started) / 1000));
  const h = Math.floor(seconds / 3600);
  const m = String(Math.floor((seconds % 3600) / 60)).padStart(2, "0");
  const s = String(seconds % 60).padStart(2, "0");
  return h ? `${h}:${m}:${s}` : `${m}:${s}`;
}

/**
 * The page's side of recording. `status` is the server's recording object:
 * `{active: false}` or `{active: true, id, since, by, notice_version, recorded, consent?}`.
 */
export class RecordingControl {
  constructor({ initial, isModerator }) {
    this.status = initial && initial.active ? initial : { active: false };
    this.isModerator = Boolean(isModerator);
    /** Our answers: recording id → granted. */
    this.answers = new Map();
    this.signaling = null;
    this.busy = false;
    this.timer = null;
  }

  // ---------------------------------------------------------------------------- pre-join

  /** Show the notice on the pre-join screen when the session is being recorded. */
  setupPrejoin() {
    for (const input of document.querySelectorAll('input[name="prejoin-consent"]')) {
      input.addEventListener("change", () => {
        if (this.status.active && input.checked) this.answers.set(this.status.id, input.value === "yes");
      });
    }
    this.renderPrejoin();
  }

  renderPrejoin() {
    const block = $("prejoin-recording");
    if (!block) return;
    block.hidden = !this.status.active;
    if (!this.status.active) return;
    $("prejoin-recording-heading").textContent = t("This session is being recorded");
    $("prejoin-recording-text").textContent = t(NOTICE);
    $("prejoin-consent-yes-label").textContent = t("I agree to be recorded");
    $("prejoin-consent-no-label").textContent = t("Do not record me");
    const answer = this.answers.get(this.status.id);
    $("prejoin-consent-yes").checked = answer === true;
    $("prejoin-consent-no").checked = answer === false;
  }

  /**
   * Before joining: ask the join API whether the session is being recorded now. Resolves false
   * (and shows the notice) while a running recording has no answer from us yet.
   */
  async readyToJoin(fetchGrant) {
    try {
      const grant = await fetchGrant();
      if (grant && grant.recording) this.status = grant.recording.active ? grant.recording : { active: false };
    } catch {
      return true; // joining reports the failure itself
    }
    this.renderPrejoin();
    if (!this.status.active || this.answers.has(this.status.id)) return true;
    const box = $("prejoin-recording");
    box.scrollIntoView({ block: "nearest" });
    $("prejoin-consent-yes").focus();
    toast(document.getElementById("toasts"), t("Choose whether you agree to be recorded, then join."), { kind: "warn", ms: 6000 });
    return false;
  }

  // ---------------------------------------------------------------------------- in the call

  /** Follow the call's signaling; call before the page's own `joined` listener. */
  attach(signaling) {
    this.signaling = signaling;
    signaling.addEventListener("joined", ({ detail }) => this.update(detail.ack.recording, { joined: true }));
    signaling.addEventListener("recording-state", ({ detail }) => this.update(detail && detail.recording, { announce: true }));
    const button = $("btn-record");
    button.hidden = !this.isModerator;
    button.addEventListener("click", () => this.toggle());
    const dialog = $("recording-dialog");
    // Escape would leave the question unanswered: the participant must choose.
    dialog.addEventListener("cancel", (event) => event.preventDefault());
    dialog.addEventListener("close", () => {
      const id = dialog.dataset.recording;
      if (id && (dialog.returnValue === "yes" || dialog.returnValue === "no")) this.answer(id, dialog.returnValue === "yes");
    });
    if (!this.timer) this.timer = setInterval(() => this.renderIndicator(), 1000);
  }

  update(status, { joined = false, announce = false } = {}) {
    const before = this.status;
    this.status = status && status.active ? status : { active: false };
    const now = this.status;
    if (now.active) {
      if (typeof now.consent === "boolean") this.answers.set(now.id, now.consent);
      if (announce && (!before.active || before.id !== now.id)) {
        toast($("toasts"), t("This session is now being recorded."), { kind: "warn", ms: 6000 });
      }
      const mine = this.answers.get(now.id);
      if (mine === undefined) this.ask(now);
      else if (joined && typeof now.consent !== "boolean") this.answer(now.id, mine); // chosen before entering
    } else {
      this.closeDialog();
      if (before.active) toast($("toasts"), t("The recording has stopped."));
    }
    this.render();
  }

  ask(status) {
    const dialog = $("recording-dialog");
    if (dialog.open && dialog.dataset.recording === status.id) return;
    dialog.dataset.recording = status.id;
    dialog.returnValue = "";
    $("recording-dialog-heading").textContent = t("This session is being recorded");
    $("recording-dialog-text").textContent = t(NOTICE);
    $("recording-accept").textContent = t("I agree to be recorded");
    $("recording-refuse").textContent = t("Do not record me");
    if (!dialog.open) dialog.showModal();
    $("recording-refuse").focus();
  }

  closeDialog() {
    const dialog = $("recording-dialog");
    if (dialog.open) {
      delete dialog.dataset.recording;
      dialog.close();
    }
  }

  async answer(id, granted) {
    this.answers.set(id, granted);
    this.render();
    if (!this.signaling) return;
    try {
      const ack = await this.signaling.request("consent", {
        recording_id: id,
        granted,
        notice_version: this.status.notice_version || "",
        locale: currentLanguage(),
      });
      if (ack.recording) this.update(ack.recording);
      toast($("toasts"), granted ? t("You are being recorded.") : t("You are not being recorded. You can stay in the call."));
    } catch (error) {
      if (error.code === "not_recording") return; // stopped meanwhile
      // Unanswered on the server: we stay out of the recording; ask again.
      this.answers.delete(id);
      toast($("toasts"), recordingErrorText(error.code), { kind: "warn", ms: 6000 });
      if (this.status.active && this.status.id === id) this.ask(this.status);
    }
  }

  /** The moderator's button: start, or stop, the recording. */
  async toggle() {
    if (this.busy || !this.signaling) return;
    this.busy = true;
    this.render();
    try {
      const ack = await this.signaling.request("recording", { action: this.status.active ? "stop" : "start" });
      this.update(ack.recording);
    } catch (error) {
      toast($("toasts"), recordingErrorText(error.code), { kind: "warn", ms: 6000 });
    } finally {
      this.busy = false;
      this.render();
    }
  }

  render() {
    this.renderIndicator();
    const button = $("btn-record");
    if (!button || button.hidden) return;
    const active = this.status.active;
    const label = active ? t("Stop recording") : t("Record");
    button.classList.toggle("active", active);
    button.setAttribute("aria-pressed", String(active));
    // Named by the words it shows (WCAG 2.5.3); the tooltip says it in full.
    button.setAttribute("aria-label", label);
    button.title = active ? t("Stop recording") : t("Start recording");
    button.disabled = this.busy;
    $("btn-record-label").textContent = label;
  }

  renderIndicator() {
    const indicator = $("recording-indicator");
    if (!indicator) return;
    indicator.hidden = !this.status.active;
    if (!this.status.active) return;
    $("recording-label").textContent = t("Recording");
    $("recording-elapsed").textContent = elapsed(this.status.since);
    const mine = this.answers.get(this.status.id);
    indicator.title = mine === true ? t("You are being recorded.") : t("You are not being recorded. You can stay in the call.");
  }

  /** For tests and support: what this page knows of the recording. */
  snapshot() {
    return { ...this.status, answer: this.status.active ? this.answers.get(this.status.id) ?? null : null };
  }
}
