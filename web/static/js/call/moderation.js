// What a moderator does to others from the participant and waiting lists: admit, refuse, mute,
// lower a hand, remove (after a confirmation). The server checks the grant; a refusal is a toast.

import { $, call } from "./callstate.js";
import { t } from "./i18n.js";
import { toast } from "./ui.js";

/** Ask in a modal dialog; resolves true when the user confirms. */
export function confirmAction(text, okLabel) {
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

export async function moderate(action, peer) {
  if (action === "remove" && !(await confirmAction(t("Remove {name} from the call?", { name: peer.name }), t("Remove")))) return;
  try {
    await call.signaling.request("moderate", { action, target: peer.peer_id });
  } catch (error) {
    toast($("toasts"), t("That action failed ({code}).", { code: error.code || "error" }), { kind: "warn" });
  }
}
