// Client-side translations. The server renders the catalog of the page's language
// (web/locale/<lang>/LC_MESSAGES/client.po) into the page's JSON config; msgids are English.

let catalog = {};
let language = "es-MX";

/** Install the catalog for the page's language. */
export function setCatalog(entries, lang) {
  catalog = entries || {};
  language = lang || language;
}

export function currentLanguage() {
  return language;
}

/** Translate `msgid`, then fill `{name}` placeholders from `params`. */
export function t(msgid, params) {
  const text = catalog[msgid] || msgid;
  if (!params) return text;
  return text.replace(/\{(\w+)\}/g, (whole, key) => (key in params ? String(params[key]) : whole));
}

/** Time of day in the page's language, for chat messages. */
export function formatTime(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "";
  return date.toLocaleTimeString(language, { hour: "2-digit", minute: "2-digit" });
}
