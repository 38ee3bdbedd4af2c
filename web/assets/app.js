// Endure's web UI: the little the pages need from a script — auto-refresh, facets that
// apply at once, the action dialogs (each a JSON call to the API), the stack trace, and
// signing in. No framework, no network beyond this server.
"use strict";

const REFRESH_KEY = "endure.autoRefresh";
const REFRESH_EVERY_MS = 5000;

function workflowApi(suffix) {
  const page = document.getElementById("workflow");
  const ns = encodeURIComponent(page.dataset.namespace);
  const id = encodeURIComponent(page.dataset.workflowId);
  return `/api/v1/namespaces/${ns}/workflows/${id}${suffix}`;
}

async function callApi(method, url, body) {
  const response = await fetch(url, {
    method,
    headers: { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
  });
  const text = await response.text();
  const value = text ? JSON.parse(text) : null;
  if (!response.ok) {
    const error = new Error(value && value.message ? value.message : response.statusText);
    error.code = value && value.code;
    throw error;
  }
  return value;
}

function parseArgs(text) {
  return text
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line.length > 0)
    .map((line, index) => {
      try {
        return JSON.parse(line);
      } catch (e) {
        throw new Error(`argument ${index + 1} is not JSON: ${e.message}`);
      }
    });
}

// A running workflow's page waits for its next event (the history's long poll) and
// reloads when one is written; other pages reload every few seconds.
async function followHistory(box) {
  const page = document.getElementById("workflow");
  const next = page.dataset.nextEvent;
  while (box.checked) {
    try {
      const answer = await callApi(
        "GET",
        workflowApi(`/history?run_id=${encodeURIComponent(page.dataset.runId)}&first_event_id=${next}&wait_new_event=true`),
      );
      if (!box.checked || document.querySelector("dialog[open]")) return;
      if (answer.events.length > 0 || answer.closed) {
        location.reload();
        return;
      }
    } catch (error) {
      await new Promise((resolve) => setTimeout(resolve, REFRESH_EVERY_MS));
    }
  }
}

function setupRefresh() {
  const box = document.getElementById("auto-refresh");
  if (!box) return;
  box.checked = localStorage.getItem(REFRESH_KEY) === "on";
  const workflow = document.getElementById("workflow");
  if (workflow) {
    box.addEventListener("change", () => {
      localStorage.setItem(REFRESH_KEY, box.checked ? "on" : "off");
      if (box.checked) followHistory(box);
    });
    if (box.checked) followHistory(box);
    return;
  }
  let timer = null;
  const schedule = () => {
    clearTimeout(timer);
    const dialogOpen = document.querySelector("dialog[open]");
    if (box.checked && !dialogOpen) timer = setTimeout(() => location.reload(), REFRESH_EVERY_MS);
  };
  box.addEventListener("change", () => {
    localStorage.setItem(REFRESH_KEY, box.checked ? "on" : "off");
    schedule();
  });
  schedule();
}

function setupFacets() {
  for (const select of document.querySelectorAll("select[data-autosubmit]")) {
    select.addEventListener("change", () => select.form.submit());
  }
}

function setupDialogs() {
  for (const button of document.querySelectorAll("button[data-open]")) {
    button.addEventListener("click", () => {
      const dialog = document.getElementById(`dialog-${button.dataset.open}`);
      dialog.querySelector("output").textContent = "";
      dialog.showModal();
    });
  }
  for (const button of document.querySelectorAll("button[data-close]")) {
    button.addEventListener("click", () => {
      const dialog = button.closest("dialog");
      dialog.close();
      // An update that went through wrote events: show them.
      if (dialog.dataset.changed === "yes") location.reload();
    });
  }
  for (const form of document.querySelectorAll("form[data-action]")) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const output = form.querySelector("output");
      output.className = "dialog-result";
      output.textContent = "Sending…";
      const action = form.dataset.action;
      const field = (name) => (form.elements[name] ? form.elements[name].value.trim() : "");
      const runId = document.getElementById("workflow").dataset.runId;
      try {
        let body;
        if (action === "signal") body = { signal_name: field("name"), input: parseArgs(field("args")), run_id: runId };
        else if (action === "query" || action === "update") body = { name: field("name"), args: parseArgs(field("args")), run_id: runId };
        else if (action === "terminate") body = { reason: field("reason"), run_id: runId };
        else if (action === "reset") body = { event_id: Number(field("event_id")), reason: field("reason"), run_id: runId };
        else body = { run_id: runId };
        const answer = await callApi("POST", workflowApi(`/${action}`), body);
        if (action === "query" || action === "update") {
          output.textContent = JSON.stringify(answer.result, null, 2);
          if (action === "update") form.closest("dialog").dataset.changed = "yes";
        } else if (action === "reset") {
          output.textContent = `New run ${answer.run_id}`;
          location.href = `${location.pathname}?run_id=${encodeURIComponent(answer.run_id)}`;
        } else {
          output.textContent = "Done";
          setTimeout(() => location.reload(), 300);
        }
      } catch (error) {
        output.className = "dialog-result error";
        output.textContent = error.code ? `${error.code}: ${error.message}` : error.message;
      }
    });
  }
}

function setupSchedules() {
  const table = document.getElementById("schedules");
  if (!table) return;
  for (const button of table.querySelectorAll("button[data-schedule-action]")) {
    button.addEventListener("click", async () => {
      const action = button.dataset.scheduleAction;
      const id = button.closest("tr").dataset.scheduleId;
      const output = document.getElementById("schedule-result");
      if (action !== "trigger" || confirm(`Start ${id}'s workflow now?`)) {
        try {
          const ns = encodeURIComponent(table.dataset.namespace);
          const path = `/api/v1/namespaces/${ns}/schedules/${encodeURIComponent(id)}`;
          await callApi("POST", `${path}/${action}`, { note: `${action}d from the web UI` });
          // A change reaches the schedule a moment later (it is a signal to its
          // scheduler): wait for it, then show it.
          for (let i = 0; i < 50 && action !== "trigger"; i++) {
            const described = await callApi("GET", path);
            if (described.schedule.state.paused === (action === "pause")) break;
            await new Promise((resolve) => setTimeout(resolve, 100));
          }
          location.reload();
        } catch (error) {
          output.className = "dialog-result error";
          output.textContent = error.message;
        }
      }
    });
  }
}

async function loadStackTrace() {
  const pre = document.getElementById("stack-trace");
  if (!pre) return;
  const runId = document.getElementById("workflow").dataset.runId;
  try {
    const answer = await callApi("POST", workflowApi("/query"), { name: "__stack_trace", args: [], run_id: runId });
    pre.textContent = typeof answer.result === "string" ? answer.result : JSON.stringify(answer.result, null, 2);
  } catch (error) {
    pre.classList.add("error");
    pre.textContent = `No stack trace: ${error.message}`;
  }
}

function setupLogin() {
  const form = document.getElementById("login-form");
  if (!form) return;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const output = form.querySelector("output");
    try {
      await callApi("POST", "/api/v1/session", { token: form.elements.token.value });
      const next = new URLSearchParams(location.search).get("next");
      location.href = next && next.startsWith("/") && !next.startsWith("//") ? next : "/";
    } catch (error) {
      output.className = "dialog-result error";
      output.textContent = error.message;
    }
  });
}

document.addEventListener("DOMContentLoaded", () => {
  setupRefresh();
  setupFacets();
  setupDialogs();
  setupLogin();
  setupSchedules();
  loadStackTrace();
});
