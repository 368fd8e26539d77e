// The portal's two live parts: uploads with per-file progress, and the jobs
// table kept current by server-sent events, polling while the stream is down.
"use strict";

(() => {
  const csrfToken = () => document.querySelector('meta[name="csrf-token"]').content;

  // --- Upload: one request per file, the raw file as application/dicom --------
  const form = document.getElementById("upload-form");
  const list = document.getElementById("upload-list");

  function sendFile(file) {
    const item = document.createElement("li");
    const name = document.createElement("span");
    const progress = document.createElement("progress");
    const outcome = document.createElement("span");
    name.textContent = file.name;
    progress.max = Math.max(file.size, 1);
    progress.value = 0;
    progress.setAttribute("aria-label", `Sending ${file.name}`);
    outcome.className = "outcome";
    outcome.textContent = "waiting to send";
    item.append(name, progress, outcome);
    list.append(item);
    return () => new Promise((resolve) => {
      const request = new XMLHttpRequest();
      request.open("POST", form.action);
      request.setRequestHeader("Content-Type", "application/dicom");
      request.setRequestHeader("X-CSRFToken", csrfToken());
      request.setRequestHeader("X-Filename", encodeURIComponent(file.name));
      request.upload.addEventListener("progress", (event) => {
        progress.value = event.loaded;
      });
      outcome.textContent = "sending";
      request.addEventListener("load", () => {
        let body;
        try {
          body = JSON.parse(request.responseText);
        } catch {
          body = { outcome: "not stored", message: `The server answered ${request.status}; log in again if your session ended.` };
        }
        progress.value = progress.max;
        item.dataset.outcome = body.outcome;
        outcome.textContent = `${body.outcome}: ${body.message}`;
        resolve();
      });
      request.addEventListener("error", () => {
        item.dataset.outcome = "not stored";
        outcome.textContent = "not stored: the connection failed; try again.";
        resolve();
      });
      request.send(file);
    });
  }

  if (form) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const files = [...form.elements.files.files];
      if (files.length === 0) {
        list.replaceChildren();
        const item = document.createElement("li");
        item.textContent = "Choose one or more DICOM files first.";
        list.append(item);
        return;
      }
      list.replaceChildren();
      const sends = files.map(sendFile);
      // One at a time: the server's upload slots are shared by everyone.
      for (const send of sends) await send();
      form.reset();
    });
  }

  // --- My jobs: live rows ---------------------------------------------------
  const rows = document.getElementById("job-rows");
  if (!rows) return;
  const status = document.getElementById("live-status");
  const empty = document.getElementById("no-jobs");
  const pollSeconds = Number(rows.dataset.pollSeconds);
  let cursor = rows.dataset.cursor;
  let pollTimer = null;
  let source = null;

  const query = () => {
    const params = new URLSearchParams(window.location.search);
    params.set("since", cursor);
    return params.toString();
  };

  function merge(updates) {
    for (const update of updates) {
      const shown = document.getElementById(`job-${update.id}`);
      if (update.html === null) {
        if (shown) shown.remove();
        continue;
      }
      const template = document.createElement("template");
      template.innerHTML = update.html.trim();
      const row = template.content.firstElementChild;
      if (shown) shown.replaceWith(row);
      else rows.prepend(row);
      if (window.htmx) window.htmx.process(row);
    }
    empty.hidden = rows.children.length > 0;
  }

  function setMode(mode, text) {
    status.dataset.mode = mode;
    status.textContent = text;
  }

  async function poll() {
    try {
      const response = await fetch(`${rows.dataset.updatesUrl}?${query()}`, { headers: { Accept: "application/json" } });
      if (response.redirected) {
        window.location.assign(response.url);  // the session ended: to the log-in page
        return;
      }
      if (!response.ok) return;
      const body = await response.json();
      cursor = body.cursor;
      merge(body.rows);
    } catch {
      // The server is unreachable too: the next poll tries again.
    }
  }

  function startPolling() {
    if (pollTimer !== null) return;
    setMode("polling", `Live updates interrupted: checking every ${pollSeconds} seconds.`);
    poll();
    pollTimer = window.setInterval(poll, pollSeconds * 1000);
  }

  function stopPolling() {
    window.clearInterval(pollTimer);
    pollTimer = null;
  }

  function connect() {
    source = new EventSource(`${rows.dataset.eventsUrl}?${query()}`);
    source.addEventListener("open", () => {
      stopPolling();  // the stream starts with a snapshot since the cursor
      setMode("live", "Live updates: on.");
    });
    source.addEventListener("job", (event) => {
      cursor = event.lastEventId || cursor;
      merge([JSON.parse(event.data)]);
    });
    source.addEventListener("error", () => {
      startPolling();
      // EventSource reconnects by itself unless the server refused the stream.
      if (source.readyState === EventSource.CLOSED) window.setTimeout(connect, 30000);
    });
  }

  connect();
})();
