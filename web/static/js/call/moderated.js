// What a moderator does to us (the `moderated` event): mute our microphone, lower our hand,
// remove or refuse us, and in a lecture let us speak or send us back to the audience.

import { $, call, lecture, localState, media, peerId } from "./callstate.js";
import { sendState, stopScreen } from "./controls.js";
import { t } from "./i18n.js";
import { ended } from "./leaving.js";
import { render } from "./render.js";
import { toast } from "./ui.js";

export function onModerated({ action, target, reason }) {
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
  } else if (reason === "session_ended" && (action === "remove" || action === "refuse")) {
    ended(t("The session is over."));
  } else if (action === "remove") {
    ended(t("A moderator removed you from the call."));
  } else if (action === "refuse") {
    ended(t("The moderator did not admit you to this session."));
  }
}

/** A lecture moderator let us speak (we publish camera and microphone) or sent us back. */
async function onStage(on) {
  call.canPublish = on;
  if (lecture) lecture.setAudience(!on);
  localState.hand = false;
  toast($("toasts"), on ? t("A moderator invited you to speak: the others now see and hear you.") : t("You are back in the audience."), { kind: on ? "info" : "warn" });
  if (on && call.cameraWanted && !media.videoEnabled) {
    // Opened before the publish connection, which offers the tracks it finds.
    const open = await media.setVideoEnabled(true);
    sendState({ video: open });
  }
  if (call.sfu) call.sfu.setPublishing(on);
  if (!on) {
    if (call.screenStream) stopScreen();
    releaseCamera();
  }
  render();
}

/** Nobody sees the audience's cameras: release ours (its light goes off) while we only watch. */
export function releaseCamera() {
  if (!media.videoEnabled) return;
  call.cameraWanted = true;
  media.setVideoEnabled(false).then(() => sendState({ video: false }));
}
