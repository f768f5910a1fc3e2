// The call page: pre-join screen → (waiting room) → call → left. This module only wires the
// pieces together (README.md lists them): the signaling events to their handlers, the pre-join
// screen to joining and leaving, and the debug handle.

import { $, call, casePanel, debugHandle, ice, lecture, show } from "./callstate.js";
import {
  onIceServers, onMode, onPeerJoined, onPeerLeft, onPeerState, onSfu, onSignal,
} from "./connections.js";
import { onChat } from "./controls.js";
import { t } from "./i18n.js";
import { ended, leave } from "./leaving.js";
import { onModerated } from "./moderated.js";
import { prejoin } from "./prejoin.js";
import { renderQuality } from "./render.js";
import { quality } from "./quality.js";
import { fatalText, join, onJoined, onJoinRetry, onStatus, onWaitingChange } from "./session.js";

/** Each signaling event (signaling/PROTOCOL.md) and the module that handles it. */
function listen(signaling) {
  const on = (event, handle) => signaling.addEventListener(event, ({ detail }) => handle(detail));
  on("joined", onJoined);
  on("waiting-room", () => show("waiting"));
  on("status", (detail) => onStatus(detail.status));
  on("fatal", (detail) => ended(fatalText(detail.code)));
  on("peer-joined", onPeerJoined);
  on("peer-left", onPeerLeft);
  on("signal", onSignal);
  on("peer-state", onPeerState);
  on("chat", onChat);
  on("waiting", (detail) => onWaitingChange(detail || {}));
  on("moderated", onModerated);
  on("mode", onMode);
  on("sfu", onSfu);
  on("audience", (detail) => lecture && lecture.setCounts(detail));
  on("agenda", (detail) => casePanel && casePanel.onAgenda(detail));
  on("join-retry", (detail) => onJoinRetry(detail.code));
}

// Fresh TURN credentials (a rejoin, or the `ice` answer before they expire) reach every connection.
ice.addEventListener("change", ({ detail }) => onIceServers(detail.servers));

// Each reading of the connections redraws the tiles' bars, the notice and the open details.
quality.addEventListener("change", renderQuality);

// A read-only window onto the call for tests and support staff.
window.junta = debugHandle({ quality: () => quality.snapshot() });

window.addEventListener("pagehide", () => {
  if (call.signaling && !call.signaling.closed) call.signaling.leave();
});

prejoin({ join: () => join({ listen }), leave }).catch((error) => {
  console.error("junta: pre-join failed", error);
  $("join-button").disabled = false;
  $("join-button").textContent = t("Join now");
});
