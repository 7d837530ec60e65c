// The moderator's page. Everything from the API is put on the page with textContent or
// as attribute values of elements built here; nothing is ever parsed as HTML.
//
// Undo: the API treats a moderator's decision as final (a different decision is a 409),
// so the page holds each action for `undo_seconds` before sending it. The held action is
// sent when the window ends, when the next action starts, or when the page is hidden
// (with keepalive, so it survives the tab closing).

import * as api from "./api.js";
import { renderHighlighted } from "./highlight.js";
import { REJECT_REASONS, done, initialLanguage, language, reasonDetail, setLanguage, signalName, t, tx } from "./i18n.js";
import { hideStats, redrawStats, showStats } from "./stats.js";

const CLAIM_BATCH = 20;
const PAGE_SIZE = 200;
const STATUSES = ["pending", "spam", "approved", "rejected"];

const $ = (id) => document.getElementById(id);

const state = {
  session: null,
  site: "",
  status: "pending",
  items: [],
  nextCursor: null,
  counts: {},
  currentId: null,
  selected: new Set(),
  hidden: new Set(),
  held: null, // the action inside its undo window: {ids, decision, extra, timer}
  outbox: 0, // actions not yet answered by the server (held or in flight)
  // Decisions the shown counts must account for: id -> {from, to, ackedAt}. While held or in
  // flight (ackedAt null) the server's counts do not include them yet; once answered, only
  // counts requested after the answer do (ackedAt is the count request sequence then).
  moving: new Map(),
  countsSeq: 0, // count requests started
  countsFrom: 0, // the sequence number of the request the shown counts came from
  view: "queue", // or "stats"
  pollTimer: null,
};

// ---------- small DOM helpers ----------

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("data-") || key.startsWith("aria-") || key === "role") node.setAttribute(key, value);
    else node[key] = value;
  }
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

function setOutbox(delta) {
  state.outbox += delta;
  document.body.dataset.outbox = String(state.outbox);
}

function toast(text, { undo = false, state: toastState = "info" } = {}) {
  const box = $("toast");
  $("toast-text").textContent = text;
  $("undo").hidden = !undo;
  box.dataset.state = toastState;
  box.hidden = false;
}

function formatTime(iso) {
  const locale = language() === "vi" ? "vi-VN" : "en-GB";
  return new Intl.DateTimeFormat(locale, { dateStyle: "short", timeStyle: "short" }).format(new Date(iso));
}

function safeUrl(value) {
  try {
    const url = new URL(value);
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
  } catch {
    return null;
  }
}

// ---------- the visible list ----------

function visibleItems() {
  const post = $("filter-post").value.trim().toLowerCase();
  const reason = $("filter-reason").value;
  const list = state.items.filter((item) => {
    if (state.hidden.has(item.id)) return false;
    if (post) {
      const postId = (item.post_id || "").toLowerCase();
      const postUrl = ((item.comment && item.comment.post_url) || "").toLowerCase();
      if (!postId.includes(post) && !postUrl.includes(post)) return false;
    }
    if (reason && !item.reasons.some((r) => r.code === reason)) return false;
    return true;
  });
  const sort = $("sort").value;
  if (sort === "oldest") list.sort((a, b) => (a.id < b.id ? -1 : 1));
  else if (sort === "score") list.sort((a, b) => b.spam_score - a.spam_score || (a.id < b.id ? 1 : -1));
  else list.sort((a, b) => (a.id < b.id ? 1 : -1));
  return list;
}

function heldByOther(item) {
  return item.claim && item.claim.by !== state.session.moderator ? item.claim.by : null;
}

function isFinal(item) {
  return item.decision !== null && item.decision !== undefined;
}

function renderReasonFilter() {
  const select = $("filter-reason");
  const chosen = select.value;
  const codes = [...new Set(state.items.flatMap((i) => i.reasons.map((r) => r.code)))].sort();
  const options = [el("option", { value: "", text: t("allReasons") })];
  for (const code of codes) options.push(el("option", { value: code, text: tx("reasonCodes", code) }));
  select.replaceChildren(...options);
  select.value = codes.includes(chosen) ? chosen : "";
}

function renderItem(item) {
  const c = item.comment || {};
  const other = heldByOther(item);
  const final = isFinal(item);
  const selected = state.selected.has(item.id);
  const li = el("li", {
    class: "item" + (item.id === state.currentId ? " current" : "") + (selected ? " selected" : ""),
    tabIndex: -1,
    "data-id": item.id,
    "aria-labelledby": `author-${item.id}`,
  });

  const box = el("input", { type: "checkbox", checked: selected, "aria-label": `${t("select")}: ${c.author_name}` });
  box.addEventListener("change", () => toggleSelect(item.id, box.checked));
  const head = el(
    "div",
    { class: "item-head" },
    el("label", { class: "check" }, box),
    el("strong", { class: "author", id: `author-${item.id}`, text: c.author_name || "" }),
    el("time", { class: "muted", dateTime: item.created_at, text: formatTime(item.created_at) }),
  );
  if (item.claim) {
    head.append(
      el("span", {
        class: other ? "badge held" : "badge mine",
        text: other ? t("heldBy", item.claim.by) : t("heldByYou"),
      }),
    );
  }
  if (final) {
    const d = item.decision;
    const what = tx("statusNames", d.status);
    const reason = d.reason ? ` · ${tx("rejectReasons", d.reason)}` : "";
    head.append(el("span", { class: "badge decided", text: t("decidedBy", d.by, what) + reason }));
  }

  const meta = el("dl", { class: "meta" });
  const addMeta = (label, value) => {
    if (value === null || value === undefined || value === "") return;
    meta.append(el("div", {}, el("dt", { text: label }), el("dd", {}, value)));
  };
  addMeta(t("email"), el("span", { class: "mono", text: c.author_email || "" }));
  addMeta(t("ip"), c.user_ip ? el("span", { class: "mono", text: c.user_ip }) : null);
  const href = c.post_url ? safeUrl(c.post_url) : null;
  addMeta(
    t("article"),
    href
      ? el("a", { href, target: "_blank", rel: "noopener noreferrer", text: item.post_id || href })
      : el("span", { text: item.post_id || "" }),
  );

  const text = el("p", { class: "text", dir: "auto", lang: c.lang || "" });
  renderHighlighted(text, c.content || "", (item.explanation && item.explanation.spam) || []);

  const tox = item.toxicity || { label: "CLEAN", probabilities: {} };
  const toxP = tox.probabilities[tox.label];
  const scores = el(
    "p",
    { class: "scores" },
    el("span", { class: "score" + (item.spam_score >= 0.5 ? " high" : ""), text: `${t("spamScore")}: ${item.spam_score.toFixed(2)}` }),
    el("span", {
      class: "score" + (tox.label !== "CLEAN" ? " high" : ""),
      text: `${t("toxicity")}: ${tx("toxLabels", tox.label)}${toxP === undefined ? "" : ` (${toxP.toFixed(2)})`}`,
    }),
  );

  // The reasons explain the automatic outcome, whatever the comment's status is now.
  const heading = tx("reasonsByStatus", item.auto_status || item.status);
  const reasons = el("ul", { class: "chips reasons", "aria-label": heading });
  for (const r of item.reasons) {
    const detail = reasonDetail(r);
    reasons.append(
      el(
        "li",
        { class: "chip reason", "data-code": r.code, title: detail },
        el("span", { text: tx("reasonCodes", r.code) }),
        detail ? el("span", { class: "detail", text: detail }) : null,
      ),
    );
  }
  const features = el("ul", { class: "chips features", "aria-label": t("features") });
  for (const f of ((item.explanation && item.explanation.spam) || []).filter((x) => x.weight > 0).slice(0, 6)) {
    features.append(el("li", { class: "chip feature", "data-feature": f.feature, text: `${signalName(f.feature)} +${f.weight.toFixed(2)}` }));
  }

  const actions = el("div", { class: "actions" });
  const disabled = Boolean(other) || final;
  const button = (label, cls, handler) => {
    const b = el("button", { type: "button", class: cls, text: label, disabled });
    b.addEventListener("click", () => {
      state.currentId = item.id;
      handler();
    });
    return b;
  };
  actions.append(
    button(t("approve"), "approve", () => act("approve", [item.id])),
    button(t("reject"), "danger", () => askReject([item.id], "reject")),
    button(t("markSpam"), "spam", () => act("spam", [item.id], { reason: "spam" })),
    button(t("block"), "ghost", () => askReject([item.id], "spam")),
  );

  li.append(head, meta, text, scores);
  if (item.reasons.length) li.append(el("p", { class: "label", text: heading }), reasons);
  if (features.childElementCount) li.append(el("p", { class: "label", text: t("features") }), features);
  li.append(actions);
  li.addEventListener("click", (e) => {
    if (e.target.closest("button, a, input, label")) return;
    setCurrent(item.id, false);
  });
  return li;
}

function render({ focus = false } = {}) {
  const list = visibleItems();
  if (!list.some((i) => i.id === state.currentId)) state.currentId = list.length ? list[0].id : null;
  $("items").replaceChildren(...list.map(renderItem));
  $("empty").hidden = list.length > 0;
  $("load-more").hidden = !state.nextCursor;
  const n = state.selected.size;
  $("selected-count").textContent = n ? t("selected", n) : "";
  for (const id of ["bulk-approve", "bulk-reject", "bulk-spam"]) $(id).disabled = n === 0;
  $("select-all").checked = list.length > 0 && list.every((i) => state.selected.has(i.id));
  $("claim-more").hidden = state.status !== "pending";
  if (focus) focusCurrent();
}

function focusCurrent() {
  if (!state.currentId) return;
  const node = $("items").querySelector(`[data-id="${CSS.escape(state.currentId)}"]`);
  if (node) {
    node.focus();
    node.scrollIntoView({ block: "nearest" });
  }
}

function setCurrent(id, focus = true) {
  state.currentId = id;
  for (const node of $("items").children) node.classList.toggle("current", node.dataset.id === id);
  if (focus) focusCurrent();
}

function move(step) {
  const list = visibleItems();
  if (!list.length) return;
  const at = list.findIndex((i) => i.id === state.currentId);
  const next = Math.min(list.length - 1, Math.max(0, at + step));
  setCurrent(list[next].id);
}

function toggleSelect(id, on = !state.selected.has(id)) {
  if (on) state.selected.add(id);
  else state.selected.delete(id);
  render();
  setCurrent(id, document.activeElement && document.activeElement.type !== "checkbox");
}

// The server's counts, moved by the decisions they cannot include yet (see state.moving).
function shownCounts() {
  const counts = { ...state.counts };
  for (const [id, move] of state.moving) {
    if (move.ackedAt !== null && move.ackedAt < state.countsFrom) {
      state.moving.delete(id); // the shown counts already include it
      continue;
    }
    if (move.from === move.to) continue;
    counts[move.from] = Math.max(0, (counts[move.from] ?? 0) - 1);
    counts[move.to] = (counts[move.to] ?? 0) + 1;
  }
  return counts;
}

function renderCounts() {
  const counts = shownCounts();
  for (const status of STATUSES) {
    const node = document.querySelector(`[data-count="${status}"]`);
    node.textContent = String(counts[status] ?? 0);
  }
  const notice = $("new-items");
  const server = counts[state.status];
  const diff = server === undefined || state.nextCursor ? 0 : Math.abs(server - state.items.length);
  notice.hidden = diff === 0 || state.outbox > 0 || state.view !== "queue";
  notice.textContent = diff ? t("newItems", diff) : "";
}

// ---------- loading ----------

async function guarded(promise) {
  try {
    return await promise;
  } catch (err) {
    if (err instanceof api.ApiError && err.status === 401) {
      showLogin(t("sessionEnded"));
      return null;
    }
    toast(t("failed", err.message), { state: "error" });
    return null;
  }
}

async function loadQueue({ claim = state.status === "pending" } = {}) {
  const site = state.site;
  const status = state.status;
  if (claim) await guarded(api.claim(site, CLAIM_BATCH));
  const seq = ++state.countsSeq;
  const page = await guarded(api.queue(site, status, { limit: PAGE_SIZE }));
  if (!page || site !== state.site || status !== state.status) return;
  state.items = page.items;
  state.nextCursor = page.next_cursor;
  setCounts(page.counts, seq);
  state.selected.clear();
  renderReasonFilter();
  renderCounts();
  render();
}

async function loadMore() {
  if (!state.nextCursor) return;
  const seq = ++state.countsSeq;
  const page = await guarded(api.queue(state.site, state.status, { limit: PAGE_SIZE, cursor: state.nextCursor }));
  if (!page) return;
  const known = new Set(state.items.map((i) => i.id));
  state.items.push(...page.items.filter((i) => !known.has(i.id)));
  state.nextCursor = page.next_cursor;
  setCounts(page.counts, seq);
  renderReasonFilter();
  renderCounts();
  render();
}

// Replies can arrive out of order: the newest request's counts win.
function setCounts(counts, seq) {
  if (seq < state.countsFrom) return;
  state.counts = counts;
  state.countsFrom = seq;
}

async function pollCounts() {
  if (!state.session || document.hidden || state.view !== "queue") return;
  const site = state.site;
  try {
    const seq = ++state.countsSeq;
    const page = await api.queue(site, state.status, { limit: 1 });
    if (site !== state.site) return;
    setCounts(page.counts, seq);
    renderCounts();
  } catch (err) {
    if (err instanceof api.ApiError && err.status === 401) showLogin(t("sessionEnded"));
  }
}

function selectTab(id) {
  for (const tab of document.querySelectorAll("[role=tab]")) {
    const on = tab.id === id;
    tab.setAttribute("aria-selected", String(on));
    tab.tabIndex = on ? 0 : -1;
  }
}

function switchStatus(status) {
  flush();
  state.status = status;
  state.view = "queue";
  hideStats();
  $("stats-view").hidden = true;
  for (const id of ["queue", "queue-tools", "bulkbar"]) $(id).hidden = false;
  selectTab(`tab-${status}`);
  $("queue").setAttribute("aria-labelledby", `tab-${status}`);
  state.items = [];
  state.currentId = null;
  render();
  return loadQueue();
}

async function switchToStats() {
  flush();
  state.view = "stats";
  selectTab("tab-stats");
  for (const id of ["queue", "queue-tools", "bulkbar", "new-items"]) $(id).hidden = true;
  $("stats-view").hidden = false;
  // A "saved" note from the queue has nothing to say about the figures.
  if ($("toast").dataset.state !== "error") $("toast").hidden = true;
  try {
    await showStats(state.site);
  } catch (err) {
    if (err instanceof api.ApiError && err.status === 401) showLogin(t("sessionEnded"));
    else toast(t("statsFailed", err.message), { state: "error" });
  }
}

// ---------- actions, held for the undo window ----------

function act(decision, ids, extra = {}) {
  flush();
  const byId = new Map(state.items.map((i) => [i.id, i]));
  const targets = ids.filter((id) => byId.has(id) && !state.hidden.has(id));
  const blocked = targets.map((id) => byId.get(id)).find((i) => heldByOther(i) || isFinal(i));
  const usable = targets.filter((id) => !heldByOther(byId.get(id)) && !isFinal(byId.get(id)));
  if (!usable.length) {
    if (blocked && heldByOther(blocked)) toast(t("heldByOther", heldByOther(blocked)), { state: "error" });
    return;
  }
  const list = visibleItems();
  const at = Math.max(0, list.findIndex((i) => i.id === state.currentId));
  const to = { approve: "approved", reject: "rejected", spam: "spam" }[decision];
  for (const id of usable) {
    state.hidden.add(id);
    state.selected.delete(id);
    state.moving.set(id, { from: byId.get(id).status, to, ackedAt: null });
  }
  const rest = visibleItems();
  state.currentId = rest.length ? rest[Math.min(at, rest.length - 1)].id : null;
  const site = state.site;
  const held = { ids: usable, decision, extra, site, timer: null };
  setOutbox(1);
  state.held = held;
  const wait = Math.max(0, Number(state.session.undo_seconds) * 1000);
  held.timer = setTimeout(() => flush(), wait);
  toast(done(decision, usable.length), { undo: wait > 0, state: "held" });
  renderCounts();
  render({ focus: true });
}

function undo() {
  const held = state.held;
  if (!held) return;
  clearTimeout(held.timer);
  state.held = null;
  for (const id of held.ids) {
    state.hidden.delete(id);
    state.moving.delete(id);
  }
  state.currentId = held.ids[0];
  setOutbox(-1);
  renderCounts();
  toast(t("undone"), { state: "undone" });
  render({ focus: true });
}

function flush({ keepalive = false } = {}) {
  const held = state.held;
  if (!held) return;
  clearTimeout(held.timer);
  state.held = null;
  $("undo").hidden = true;
  send(held, keepalive);
}

async function send(held, keepalive) {
  const body = { decision: held.decision, ...held.extra };
  const results = await Promise.allSettled(held.ids.map((id) => api.decide(held.site, id, body, { keepalive })));
  let failure = null;
  results.forEach((result, i) => {
    const id = held.ids[i];
    const move = state.moving.get(id);
    if (result.status === "fulfilled") {
      // Counts requested from now on include this decision.
      if (move) move.ackedAt = state.countsSeq;
      state.items = state.items.filter((item) => item.id !== id);
      state.hidden.delete(id);
      return;
    }
    const err = result.reason;
    const problem = (err && err.problem) || {};
    const item = state.items.find((x) => x.id === id);
    if (err && err.status === 409 && problem.current_status) {
      state.items = state.items.filter((x) => x.id !== id); // decided elsewhere meanwhile
    } else if (err && err.status === 409 && problem.claimed_by && item) {
      item.claim = { by: problem.claimed_by };
    }
    state.hidden.delete(id);
    state.moving.delete(id);
    failure = failure || err;
  });
  setOutbox(-1);
  if (failure && failure.status === 401) showLogin(t("sessionEnded"));
  else if (failure) toast(t("failed", failure.message), { state: "error" });
  else if (!state.held) toast(t("saved"), { state: "saved" });
  renderCounts();
  render();
  pollCounts();
}

function targetsFor() {
  if (state.selected.size) return [...state.selected];
  return state.currentId ? [state.currentId] : [];
}

function askReject(ids, decision) {
  if (!ids.length) return;
  const dialog = $("reject-dialog");
  $("reject-title").textContent = decision === "spam" ? t("blockTitle") : t("rejectTitle");
  const first = state.items.find((i) => i.id === ids[0]);
  const options = REJECT_REASONS.map((code, i) => {
    const input = el("input", { type: "radio", name: "reason", value: code, id: `reason-${code}` });
    input.checked = decision === "spam" ? code === "spam" : i === 0;
    return el(
      "label",
      { class: "check", htmlFor: `reason-${code}` },
      input,
      el("kbd", { text: String(i + 1) }),
      el("span", { text: tx("rejectReasons", code) }),
    );
  });
  $("reason-options").replaceChildren(...options);
  $("block-email").checked = decision === "spam";
  $("block-ip").checked = false;
  $("block-ip").disabled = !(first && first.comment && first.comment.user_ip);
  dialog.returnValue = "";
  dialog.onclose = () => {
    if (dialog.returnValue !== "confirm") {
      focusCurrent();
      return;
    }
    const reason = dialog.querySelector("input[name=reason]:checked").value;
    const extra = { reason };
    if ($("block-email").checked) extra.block_email = true;
    if ($("block-ip").checked) extra.block_ip = true;
    act(decision, ids, extra);
  };
  dialog.showModal();
  const checked = dialog.querySelector("input[name=reason]:checked");
  if (checked) checked.focus();
}

// ---------- sign-in, sites, language ----------

function showLogin(message = "") {
  if (state.pollTimer) clearInterval(state.pollTimer);
  state.pollTimer = null;
  state.session = null;
  $("workspace").hidden = true;
  for (const id of ["logout", "who", "help-open", "site-field"]) $(id).hidden = true;
  $("login").hidden = false;
  $("login-error").textContent = message;
  $("token").focus();
}

async function startSession(session) {
  state.session = session;
  $("login").hidden = true;
  $("token").value = "";
  $("login-error").textContent = "";
  $("workspace").hidden = false;
  for (const id of ["logout", "who", "help-open"]) $(id).hidden = false;
  $("who").textContent = session.moderator;
  const select = $("site");
  select.replaceChildren(...session.sites.map((s) => el("option", { value: s, text: s })));
  $("site-field").hidden = session.sites.length < 2;
  state.site = session.sites[0] || "";
  select.value = state.site;
  if (state.pollTimer) clearInterval(state.pollTimer);
  state.pollTimer = setInterval(pollCounts, Math.max(1, Number(session.poll_seconds)) * 1000);
  await switchStatus("pending");
  focusCurrent();
}

function renderHelp() {
  const rows = [];
  for (const [key, what] of t("keys")) rows.push(el("dt", {}, el("kbd", { text: key })), el("dd", { text: what }));
  $("help-keys").replaceChildren(...rows);
}

function renderDaysOptions() {
  for (const option of $("stats-days").options) option.textContent = t("daysOption", Number(option.value));
}

function applyLanguage(lang, remember) {
  setLanguage(lang, remember);
  renderHelp();
  renderDaysOptions();
  if (state.session) {
    renderReasonFilter();
    render();
    redrawStats();
  }
}

// ---------- wiring ----------

function onKey(event) {
  if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
  if (!state.session || document.querySelector("dialog[open]")) return;
  const target = event.target;
  const typing = target.closest && target.closest("input:not([type=checkbox]), select, textarea");
  if (typing) return;
  const actions = {
    j: () => move(1),
    k: () => move(-1),
    a: () => act("approve", targetsFor()),
    r: () => askReject(targetsFor(), "reject"),
    s: () => act("spam", targetsFor(), { reason: "spam" }),
    b: () => askReject(targetsFor(), "spam"),
    x: () => state.currentId && toggleSelect(state.currentId),
    u: () => undo(),
    "?": () => $("help-dialog").showModal(),
  };
  const handler = actions[event.key];
  if (handler) {
    event.preventDefault();
    handler();
  }
}

function onDialogKey(event) {
  const dialog = $("reject-dialog");
  if (/^[1-7]$/.test(event.key)) {
    const input = dialog.querySelectorAll("input[name=reason]")[Number(event.key) - 1];
    input.checked = true;
    input.focus();
    event.preventDefault();
  } else if (event.key === "Enter" && !event.target.closest("button")) {
    event.preventDefault();
    dialog.close("confirm");
  }
}

function wire() {
  $("login-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const token = $("token").value.trim();
    if (!token) {
      $("login-error").textContent = t("badToken");
      return;
    }
    try {
      await startSession(await api.signIn(token));
    } catch (err) {
      $("token").value = "";
      $("login-error").textContent = err.status === 401 || err.status === 422 ? t("badToken") : t("failed", err.message);
      $("token").focus();
    }
  });
  $("logout").addEventListener("click", async () => {
    flush();
    await api.signOut().catch(() => null);
    showLogin();
  });
  $("lang").addEventListener("click", () => applyLanguage(language() === "vi" ? "en" : "vi", true));
  $("help-open").addEventListener("click", () => $("help-dialog").showModal());
  $("site").addEventListener("change", () => {
    flush();
    state.site = $("site").value;
    state.moving.clear();
    if (state.view === "stats") switchToStats();
    else switchStatus("pending");
  });
  const tabs = [...document.querySelectorAll("[role=tab]")];
  const open = (tab) => (tab.dataset.status ? switchStatus(tab.dataset.status) : switchToStats());
  tabs.forEach((tab, i) => {
    tab.addEventListener("click", () => open(tab));
    tab.addEventListener("keydown", (event) => {
      if (event.key !== "ArrowRight" && event.key !== "ArrowLeft") return;
      const next = tabs[(i + (event.key === "ArrowRight" ? 1 : tabs.length - 1)) % tabs.length];
      next.focus();
      open(next);
    });
  });
  $("stats-days").addEventListener("change", () => switchToStats());
  for (const id of ["filter-post", "filter-reason", "sort"]) $(id).addEventListener("input", () => render());
  $("select-all").addEventListener("change", () => {
    const list = visibleItems();
    if ($("select-all").checked) list.forEach((i) => state.selected.add(i.id));
    else state.selected.clear();
    render();
  });
  $("bulk-approve").addEventListener("click", () => act("approve", [...state.selected]));
  $("bulk-reject").addEventListener("click", () => askReject([...state.selected], "reject"));
  $("bulk-spam").addEventListener("click", () => act("spam", [...state.selected], { reason: "spam" }));
  $("claim-more").addEventListener("click", () => loadQueue({ claim: true }));
  $("refresh").addEventListener("click", () => {
    flush();
    loadQueue();
  });
  $("load-more").addEventListener("click", () => loadMore());
  $("undo").addEventListener("click", () => undo());
  $("reject-dialog").addEventListener("keydown", onDialogKey);
  document.addEventListener("keydown", onKey);
  // Send a held decision before the page goes away; keepalive lets it outlive the tab.
  window.addEventListener("pagehide", () => flush({ keepalive: true }));
  document.addEventListener("visibilitychange", () => {
    if (document.hidden) flush({ keepalive: true });
  });
}

async function main() {
  applyLanguage(initialLanguage(), false);
  wire();
  let session = null;
  try {
    session = await api.currentSession();
  } catch {
    session = null;
  }
  if (session) await startSession(session);
  else showLogin();
}

main();
