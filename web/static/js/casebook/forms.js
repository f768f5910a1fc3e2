// Progressive enhancement of the casebook's forms (they all work without this script).
// - Attachments stream to the server with the CSRF token in a header: a plain form post is read
//   whole by the CSRF check and so capped at the request limit; this way the file is not.
// - Forms with data-confirm ask before a step that cannot be undone.

const csrfToken = () => document.querySelector('meta[name="csrf-token"]')?.content ?? "";

function enhanceUpload(form) {
  const status = form.querySelector(".upload-status");
  const button = form.querySelector('button[type="submit"]');
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const input = form.querySelector('input[type="file"]');
    if (!input || input.files.length === 0) return;
    button.disabled = true;
    if (status) status.textContent = form.dataset.sending ?? "…";
    const body = new FormData();
    body.append("file", input.files[0]);
    try {
      const response = await fetch(form.action, {
        method: "POST",
        body,
        headers: { "X-CSRF-Token": csrfToken() },
        credentials: "same-origin",
      });
      if (response.ok) {
        // The server answers with the case page (after its redirect): show it afresh.
        window.location.assign(response.url);
        return;
      }
      // A refusal comes back as the case page with the reason in its alert.
      const page = new DOMParser().parseFromString(await response.text(), "text/html");
      const reason = page.querySelector(".form-error, .error-page h1");
      if (status) status.textContent = reason ? reason.textContent.trim() : String(response.status);
    } catch (error) {
      if (status) status.textContent = String(error);
    }
    button.disabled = false;
  });
}

function enhanceConfirm(form) {
  form.addEventListener("submit", (event) => {
    if (!window.confirm(form.dataset.confirm)) event.preventDefault();
  });
}

for (const form of document.querySelectorAll('form[data-enhance="upload"]')) enhanceUpload(form);
for (const form of document.querySelectorAll("form[data-confirm]")) enhanceConfirm(form);
