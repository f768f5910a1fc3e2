// Leaving the call, by choice or because the server ended it for us: everything is closed (the
// signaling, the connections, the camera and microphone) and the "left" screen says why.

import { $, call, ice, links, media, show } from "./callstate.js";
import { closeSfu, dropLink } from "./connections.js";
import { speaking } from "./controls.js";
import { t } from "./i18n.js";
import { meter } from "./prejoin.js";
import { quality } from "./quality.js";

export async function leave() {
  if (call.signaling) await call.signaling.leave();
  ended(null);
}

/** The call is over for this page; `text` says why when we did not leave ourselves. */
export function ended(text) {
  if (call.signaling && !call.signaling.closed) call.signaling.close();
  if (call.screenStream) for (const track of call.screenStream.getTracks()) track.stop();
  call.screenStream = null;
  for (const id of [...links.keys()]) dropLink(id);
  closeSfu();
  ice.close();
  quality.stop();
  media.stop();
  meter.close();
  speaking.close();
  $("ended-title").textContent = text ? t("You are no longer in the call") : t("You left the call");
  $("ended-text").textContent = text || t("You can close this page or join again.");
  show("ended");
}
