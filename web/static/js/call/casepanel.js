// The case panel beside the video in a review session's call: the session's agenda and the case
// under discussion (summary, clinical question, attachments). The chair (a moderator of the room)
// moves through the agenda with the `agenda {item}` event; signaling tells every page the new
// position and each page fetches that case from the web API, which checks that this user may see
// it and audits the read. Signaling never carries clinical text (PROTOCOL.md, "The agenda").
// Everything the server sends is shown with textContent only.
//
// The session's chair also issues the recommendation (nota de interconsulta) from here: the case
// API says, for the chair only, where to post (`recommendation`); the form posts to the same JSON
// APIs the case page uses (CSRF header, their authorization and audit), marking the case
// discussed first while it is only scheduled, then reads the case again for its new status.

import { t } from "./i18n.js";
import { el, toast } from "./ui.js";

const SEX = { female: "Female", male: "Male", undetermined: "Undetermined sex" };
const URGENCY = { urgent: "Urgent", priority: "Priority", routine: "Routine" };
const STATUS = {
  draft: "Draft", submitted: "Submitted", information_requested: "Information requested",
  accepted: "Accepted", scheduled: "Scheduled", discussed: "Discussed",
  recommendation_issued: "Recommendation issued", closed: "Closed", rejected: "Rejected", withdrawn: "Withdrawn",
};
// Why the server refused the recommendation, by its error code (anything else: the code shown).
const REFUSED = {
  invalid_request: "Fill in the diagnostic criteria and the treatment suggestions.",
  invalid_signatory: "Signatories must be consultants who took part in the session.",
  illegal_transition: "This step is not possible now: the case may have changed.",
  not_allowed: "You may not issue the recommendation for this case.",
  not_found: "You may not issue the recommendation for this case.",
  csrf_failed: "Your session changed: reload the page.",
  not_signed_in: "Your session ended: sign in again.",
};

async function getJson(url) {
  const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
  if (!response.ok) {
    const error = new Error(`${url} answered ${response.status}`);
    error.status = response.status;
    throw error;
  }
  return response.json();
}

/** POST `body` as JSON with the page's CSRF token; the reply, or an Error with `code`. */
async function postJson(url, body) {
  const csrf = document.querySelector('meta[name="csrf-token"]');
  const response = await fetch(url, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf ? csrf.content : "", Accept: "application/json" },
    body: JSON.stringify(body || {}),
  });
  const reply = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = new Error(`${url} answered ${response.status}`);
    error.status = response.status;
    error.code = (reply.error && reply.error.code) || String(response.status);
    throw error;
  }
  return reply;
}

export class CasePanel {
  /**
   * `root`: the empty <aside id="casepanel">; `agendaUrl`: the room's agenda API;
   * `canMove`: whether this user may move the room (a moderator); `request(event, payload)`:
   * the signaling request; `toasts`: where refusals are told.
   */
  constructor({ root, agendaUrl, canMove, request, toasts }) {
    this.root = root;
    this.agendaUrl = agendaUrl;
    this.canMove = Boolean(canMove);
    this.request = request;
    this.toasts = toasts;
    /** The agenda as the API gave it: [{item, visible, case_code, diagnosis}]. */
    this.items = [];
    /** The place the room is at (1-based); the first case until the chair moves. */
    this.current = 1;
    /** The case shown, or null; `failed`: it could not be read (refused or gone). */
    this.shown = null;
    this.failed = false;
    this.loading = null;
    this.mounted = false;
    /** The chair's recommendation form while open: {code, form, message, submit}; kept across renders. */
    this.recommendation = null;
    /** The code of the case this page just issued the recommendation for (says so in the panel). */
    this.issued = null;
    /** The timer that reads the agenda again when the session starts (see `loadAgenda`). */
    this.startTimer = null;
  }

  /** Build the panel's skeleton and read the agenda; called when the call view opens. */
  mount() {
    if (this.mounted) return;
    this.mounted = true;
    this.toggleButton = el("button", {
      type: "button", class: "casepanel-toggle", id: "casepanel-toggle", "aria-expanded": "true",
      "aria-controls": "casepanel-body", onclick: () => this.setCollapsed(this.root.dataset.collapsed !== "true"),
    });
    this.heading = el("h2", { id: "casepanel-title" });
    this.position = el("span", { class: "casepanel-position", id: "casepanel-position" });
    this.agendaList = el("ol", { class: "casepanel-agenda", id: "casepanel-agenda" });
    this.caseBox = el("article", { class: "casepanel-case", id: "casepanel-case", "aria-live": "polite" });
    this.prevButton = el("button", { type: "button", class: "mini", id: "casepanel-prev", onclick: () => this.move(this.current - 1) });
    this.nextButton = el("button", { type: "button", class: "mini mini-primary", id: "casepanel-next", onclick: () => this.move(this.current + 1) });
    const nav = this.canMove ? el("div", { class: "casepanel-nav" }, this.prevButton, this.nextButton) : null;
    this.agendaHeading = el("h3", {});
    this.root.setAttribute("aria-labelledby", "casepanel-title");
    this.root.replaceChildren(
      el("div", { class: "casepanel-head" }, this.heading, this.position, this.toggleButton),
      el("div", { class: "casepanel-body", id: "casepanel-body" }, nav, this.caseBox, this.agendaHeading, this.agendaList),
    );
    this.root.hidden = false;
    this.render();
    this.loadAgenda();
  }

  setCollapsed(collapsed) {
    this.root.dataset.collapsed = String(collapsed);
    this.render();
  }

  /** The join ack (or `admitted`) says where the room is; null: the chair has not moved yet. */
  joined(ack) {
    if (Number.isInteger(ack.agenda)) this.goTo(ack.agenda);
    else this.goTo(this.current);
  }

  /** `agenda {item, by}` from signaling: everyone follows the chair. */
  onAgenda({ item }) {
    if (Number.isInteger(item)) this.goTo(item);
  }

  /** The chair moves the room; the panel changes when the server's `agenda` event arrives. */
  async move(item) {
    if (!this.canMove || item < 1 || (this.items.length && item > this.items.length)) return;
    try {
      await this.request("agenda", { item });
    } catch (error) {
      const text = error.code === "forbidden" ? t("Only the chair can move through the agenda.") : t("That action failed ({code}).", { code: error.code || "error" });
      toast(this.toasts, text, { kind: "warn" });
    }
  }

  async loadAgenda() {
    try {
      const agenda = await getJson(this.agendaUrl);
      this.items = agenda.items || [];
      this.untilStart(agenda.starts_in_seconds);
    } catch (error) {
      console.warn("junta: agenda not loaded: %s", error.status || error);
      this.items = [];
    }
    await this.goTo(this.current, { force: true });
  }

  /**
   * Before the session starts the server offers the chair no way to mark a case discussed (it
   * would refuse it), so the action is not shown; when the start comes, read the agenda and the
   * case again and it appears. A timer's longest wait is about 24 days: a later start is checked
   * again then.
   */
  untilStart(seconds) {
    clearTimeout(this.startTimer);
    this.startTimer = null;
    if (!this.canMove || !(seconds > 0)) return;
    const wait = Math.min(seconds * 1000 + 500, 2 ** 31 - 1);
    this.startTimer = setTimeout(() => this.loadAgenda(), wait);
  }

  async goTo(item, { force = false } = {}) {
    if (!force && item === this.current && this.shown && this.shown.item === item) return;
    this.current = item;
    this.render();
    const entry = this.items[item - 1];
    if (!entry || !entry.visible) {
      // Not on the agenda, or a case this user may not see: its place only, never a request.
      this.shown = null;
      this.failed = false;
      this.render();
      return;
    }
    const wanted = item;
    this.loading = wanted;
    this.render();
    try {
      const found = await getJson(`${this.agendaUrl}/${item}`);
      if (this.current !== wanted) return; // the chair moved on meanwhile
      this.shown = found;
      this.failed = false;
    } catch (error) {
      if (this.current !== wanted) return;
      this.shown = null;
      this.failed = true;
    } finally {
      if (this.loading === wanted) this.loading = null;
    }
    this.render();
  }

  /** What tests and support read: the room's place and the case shown. */
  snapshot() {
    return {
      current: this.current, total: this.items.length, code: this.shown ? this.shown.code : null,
      status: this.shown ? this.shown.status : null, loading: this.loading !== null,
    };
  }

  // ---------------------------------------------------------------------------- the recommendation

  /** Open (or close) the chair's form for the case shown. */
  toggleRecommendation() {
    const c = this.shown;
    if (this.recommendation && c && this.recommendation.code === c.code) this.recommendation = null;
    else if (c && c.recommendation) this.recommendation = this.buildRecommendationForm(c);
    this.renderCase();
    if (this.recommendation) this.recommendation.form.querySelector("textarea").focus();
  }

  buildRecommendationForm(c) {
    const area = (id, label, { required = false } = {}) => [
      el("label", { for: id }, label),
      el("textarea", { id, name: id, rows: "3", maxlength: "20000", required }),
    ];
    const signers = c.recommendation.signatories.map((person) =>
      el("label", { class: "casepanel-check" },
        el("input", { type: "checkbox", name: "signatories", value: person.id }), " ", person.name),
    );
    const message = el("p", { class: "casepanel-message", id: "casepanel-rec-message", role: "status", "aria-live": "polite" });
    const submit = el("button", { type: "submit", class: "mini mini-primary", id: "casepanel-rec-submit" }, t("Issue recommendation"));
    const form = el("form", { class: "casepanel-form", id: "casepanel-rec-form", "aria-labelledby": "casepanel-rec-title" },
      el("h4", { id: "casepanel-rec-title" }, t("Recommendation")),
      ...area("casepanel-rec-criteria", t("Diagnostic criteria"), { required: true }),
      ...area("casepanel-rec-studies", t("Suggested studies")),
      ...area("casepanel-rec-treatment", t("Treatment suggestions"), { required: true }),
      signers.length
        ? el("fieldset", { class: "casepanel-signers" }, el("legend", {}, t("Consultants who agree and sign")), ...signers)
        : null,
      message,
      el("div", { class: "casepanel-actions" },
        submit,
        el("button", { type: "button", class: "mini", id: "casepanel-rec-cancel", onclick: () => this.toggleRecommendation() }, t("Cancel")),
      ),
    );
    const entry = { code: c.code, form, message, submit };
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      // The case as last read (a failed attempt may have marked it discussed meanwhile).
      this.issueRecommendation(entry, this.shown && this.shown.code === c.code ? this.shown : c);
    });
    return entry;
  }

  async issueRecommendation(entry, c) {
    if (!c.recommendation) return; // no longer the chair's to issue (the panel shows the status)
    const value = (id) => entry.form.querySelector(`#${id}`).value.trim();
    const body = {
      diagnostic_criteria: value("casepanel-rec-criteria"),
      suggested_studies: value("casepanel-rec-studies"),
      treatment_suggestions: value("casepanel-rec-treatment"),
      signatories: [...entry.form.querySelectorAll('input[name="signatories"]:checked')].map((box) => box.value),
    };
    if (!body.diagnostic_criteria || !body.treatment_suggestions) {
      this.tell(entry, t(REFUSED.invalid_request), "error");
      return;
    }
    entry.submit.disabled = true;
    this.tell(entry, t("Issuing the recommendation…"), "info");
    try {
      // The workflow issues only for a discussed case: discussing it in the call is what this is.
      if (c.recommendation.discussed_url) await postJson(c.recommendation.discussed_url);
      await postJson(c.recommendation.issue_url, body);
    } catch (error) {
      const reason = REFUSED[error.code] ? t(REFUSED[error.code]) : t("The recommendation could not be issued ({code}).", { code: error.code || "error" });
      this.tell(entry, reason, "error");
      entry.submit.disabled = false;
      // A first step that went through (marked discussed) shows in the status; the form stays.
      if (c.recommendation.discussed_url) this.refreshShown();
      return;
    }
    this.recommendation = null;
    toast(this.toasts, t("Recommendation issued for {code}.", { code: c.code }));
    this.issued = c.code;
    await this.refreshShown();
  }

  /** Read the case shown again (its status and what the chair may still do). */
  async refreshShown() {
    if (!this.shown) return;
    await this.goTo(this.current, { force: true });
  }

  tell(entry, text, kind) {
    entry.message.textContent = text;
    entry.message.dataset.kind = kind;
  }

  // ---------------------------------------------------------------------------- rendering

  render() {
    if (!this.mounted) return;
    const collapsed = this.root.dataset.collapsed === "true";
    this.heading.textContent = t("Case under discussion");
    this.toggleButton.textContent = collapsed ? t("Show") : t("Hide");
    this.toggleButton.setAttribute("aria-expanded", String(!collapsed));
    this.toggleButton.setAttribute("aria-label", collapsed ? t("Show the case panel") : t("Hide the case panel"));
    const total = this.items.length;
    this.position.textContent = total ? t("{item} of {total}", { item: this.current, total }) : "";
    this.root.dataset.item = String(this.current);
    this.prevButton.textContent = t("Previous case");
    this.nextButton.textContent = t("Next case");
    this.prevButton.disabled = this.current <= 1;
    this.nextButton.disabled = total === 0 || this.current >= total;
    this.agendaHeading.textContent = t("Agenda");
    this.renderAgenda();
    this.renderCase();
  }

  renderAgenda() {
    const rows = this.items.map((entry) => {
      const label = entry.visible ? `${entry.case_code} · ${entry.diagnosis}` : t("Case {item} (not shared with you)", { item: entry.item });
      const current = entry.item === this.current;
      const content = this.canMove
        ? el("button", { type: "button", class: "casepanel-item", onclick: () => this.move(entry.item), "aria-current": current ? "step" : null }, label)
        : el("span", { class: "casepanel-item", "aria-current": current ? "step" : null }, label);
      return el("li", { dataset: { item: String(entry.item), current: String(current) } }, content);
    });
    if (rows.length === 0) rows.push(el("li", { class: "casepanel-empty" }, t("The agenda has no cases.")));
    this.agendaList.replaceChildren(...rows);
  }

  renderCase() {
    const entry = this.items[this.current - 1];
    const box = this.caseBox;
    box.dataset.code = this.shown ? this.shown.code : "";
    if (this.items.length === 0) {
      box.replaceChildren();
      return;
    }
    if (!entry) {
      box.replaceChildren(el("p", { class: "casepanel-note" }, t("This place is not on the agenda.")));
      return;
    }
    if (!entry.visible) {
      box.replaceChildren(el("p", { class: "casepanel-note" }, t("You may not see this case: the chair is discussing case {item} of the agenda.", { item: entry.item })));
      return;
    }
    if (this.failed) {
      box.replaceChildren(el("p", { class: "casepanel-note" }, t("The case could not be loaded.")));
      return;
    }
    const c = this.shown;
    if (!c || c.item !== this.current) {
      box.replaceChildren(el("p", { class: "casepanel-note" }, t("Loading the case…")));
      return;
    }
    if (this.recommendation && (this.recommendation.code !== c.code || !c.recommendation)) this.recommendation = null;
    const patient = t("{initials} · {years} years {months} months · {sex}", {
      initials: c.patient.initials, years: c.patient.age_years, months: c.patient.age_months, sex: t(SEX[c.patient.sex] || c.patient.sex),
    });
    const field = (label, value, id) => (value ? [el("dt", {}, label), el("dd", { id }, value)] : []);
    const files = (c.attachments || []).map((file) =>
      el("li", {}, el("a", { href: file.download_url, download: file.filename, rel: "noopener" }, file.filename)),
    );
    box.replaceChildren(
      el("p", { class: "casepanel-code" }, el("span", { id: "casepanel-code" }, c.code), " · ", t(URGENCY[c.urgency] || c.urgency),
        " · ", el("span", { class: "casepanel-status", id: "casepanel-status", dataset: { status: c.status } }, t(STATUS[c.status] || c.status))),
      el("h3", { class: "casepanel-diagnosis", id: "casepanel-diagnosis" }, `${c.diagnosis} (${c.icd10_code})`),
      el("dl", { class: "casepanel-facts" },
        ...field(t("Patient"), patient, "casepanel-patient"),
        ...field(t("Stage or risk group"), c.stage, "casepanel-stage"),
        ...field(t("Treatment so far"), c.treatment_so_far, "casepanel-treatment"),
      ),
      el("h4", {}, t("Clinical question")),
      el("p", { class: "casepanel-question", id: "casepanel-question" }, c.clinical_question),
      el("h4", {}, t("Attachments")),
      files.length ? el("ul", { class: "casepanel-files", id: "casepanel-files" }, ...files) : el("p", { class: "casepanel-note" }, t("No attachments.")),
      ...this.recommendationPart(c),
    );
  }

  /** For the chair: the action that opens the form (or the open form itself, as typed so far). */
  recommendationPart(c) {
    if (c.status === "recommendation_issued" && this.issued === c.code) {
      return [el("p", { class: "casepanel-message", id: "casepanel-rec-done", dataset: { kind: "ok" } }, t("The recommendation was issued; the referrer can download it."))];
    }
    if (!c.recommendation) return [];
    if (this.recommendation) return [this.recommendation.form];
    return [
      el("div", { class: "casepanel-actions" },
        el("button", { type: "button", class: "mini mini-primary", id: "casepanel-issue", onclick: () => this.toggleRecommendation() }, t("Issue recommendation")),
      ),
    ];
  }
}
