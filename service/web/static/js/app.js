// The moderator's page. Everything from the API is put on the page with textContent or
// as attribute values of elements built here; nothing is ever parsed as HTML.
//
// Decisions are revisable in the API: a decided comment can be decided again, and each change
// gets the comment's next revision. The page sends every decision with the revision it saw
// (expected_revision), so a comment another moderator decided meanwhile is refused (409
// revision_conflict, with the comment as it is now) instead of silently overwritten; the page
// then shows the comment's current state and says so.
//
// Undo, in two steps. A decision has effects a later one cannot take back (a webhook sent to
// the news site, a trusted author), so the page first holds each action for `undo_seconds`:
// undo inside that window sends nothing. The held action is sent when the window ends, when
// the next action starts, or when the page is hidden (with keepalive, so it survives the tab
// closing). Once sent, the last action can still be undone while its toast offers it, by
// sending each comment's previous status as a new decision with the revision the first one
// got; that is possible only where the previous status is one a decision can set (not
// "pending") and the action blocked nobody (a block list entry is not taken back).

import * as api from "./api.js";
import { renderHighlighted } from "./highlight.js";
import { REJECT_REASONS, done, formatNumber, initialLanguage, language, locale, reasonDetail, setLanguage, signalName, t, tx } from "./i18n.js";
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
  held: null, // the action inside its undo window: {ids, decision, extra, seen, moves, timer}
  sent: null, // the last action sent, while it can still be undone: {site, entries: [{before, after}]}
  actions: 0, // actions started, so that only the latest one's answer offers undo
  // Comments whose decision was refused because another decision came first: id -> the
  // decision the page had not seen ({by, status}); shown on the item until the next load.
  conflicts: new Map(),
  historyOpen: new Set(), // items whose history the moderator opened: kept open across redraws
  outbox: 0, // actions not yet answered by the server (held or in flight)
  // Decisions the shown counts must account for: move key -> {from, to, ackedAt}. While held or in
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
  // A sent action can be undone only while its toast offers it.
  if (!undo) state.sent = null;
  const box = $("toast");
  $("toast-text").textContent = text;
  $("undo").hidden = !undo;
  box.dataset.state = toastState;
  box.hidden = false;
}

function formatTime(iso) {
  return new Intl.DateTimeFormat(locale(), { dateStyle: "short", timeStyle: "short" }).format(new Date(iso));
}

const fraction = (value) => formatNumber(value, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const weight = (value) => formatNumber(value, { minimumFractionDigits: 2, maximumFractionDigits: 2, signDisplay: "exceptZero" });

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

function decidedByModerator(item) {
  return item.decision !== null && item.decision !== undefined;
}

// What each action makes of a comment. "block" files it as spam *and* adds the author to the
// block lists, so it still means something on a comment already filed as spam.
const ACTION_STATUS = { approve: "approved", reject: "rejected", spam: "spam", block: "spam" };
const ACTIONS = ["approve", "reject", "spam", "block"];

// The actions an item's state allows: every decision that changes its status, never the one
// it already has (a rejected comment offers no "Reject", a spam one no "Spam", an approved one
// no "Approve"), whether the status is the automatic outcome or a moderator's decision, since
// decisions are revisable. An item another moderator holds keeps its actions, disabled, beside
// the holder's name (see renderItem).
function offeredActions(item) {
  return ACTIONS.filter((action) => action === "block" || ACTION_STATUS[action] !== item.status);
}

// Why *action* cannot be taken on *item* now (a message for the toast), or null if it can.
function refusal(item, action) {
  if (!offeredActions(item).includes(action)) return t("notOffered", tx("statusNames", item.status));
  const other = heldByOther(item);
  return other ? t("heldByOther", other) : null;
}

function actionable(item) {
  return !heldByOther(item) && offeredActions(item).length > 0;
}

// On a phone the filters fold away; their toggle says how many are in use.
function renderFilterCount() {
  const n = ($("filter-post").value.trim() ? 1 : 0) + ($("filter-reason").value ? 1 : 0);
  $("filters-active").hidden = n === 0;
  $("filters-active").textContent = formatNumber(n);
}

function renderReasonFilter() {
  const select = $("filter-reason");
  const chosen = select.value;
  const codes = [...new Set(state.items.flatMap((i) => i.reasons.map((r) => r.code)))].sort();
  const options = [el("option", { value: "", text: t("allReasons") })];
  for (const code of codes) options.push(el("option", { value: code, text: tx("reasonCodes", code) }));
  select.replaceChildren(...options);
  select.value = codes.includes(chosen) ? chosen : "";
  renderFilterCount();
}

// The reasons a model drove, and which model: each reason is shown beside that model's
// signals, never beside another's (a comment held for hate speech shows the toxicity model's
// words, not the spam model's).
const SPAM_MODEL_REASONS = new Set(["spam_score", "spam_score_uncertain", "trusted_author", "low_spam_score"]);
const TOXICITY_MODEL_REASONS = { hate_speech: "HATE", offensive: "OFFENSIVE" };
const MAX_SIGNALS = 6;

function signalsFor(item, reason) {
  const explanation = item.explanation || {};
  if (SPAM_MODEL_REASONS.has(reason.code)) {
    // Approved for a low score: what pulled toward "not spam"; otherwise what pushed toward spam.
    const toward = reason.code === "low_spam_score" ? (f) => f.weight < 0 : (f) => f.weight > 0;
    return { model: "spam", features: (explanation.spam || []).filter(toward).slice(0, MAX_SIGNALS) };
  }
  const label = TOXICITY_MODEL_REASONS[reason.code];
  // The toxicity model explains toward the class it decided, so its signals belong to the
  // reason of that class only (P(HATE) can cross a lowered threshold while CLEAN is decided).
  if (label && item.toxicity && item.toxicity.label === label) {
    return { model: "toxicity", features: (explanation.toxicity || []).filter((f) => f.weight > 0).slice(0, MAX_SIGNALS) };
  }
  return null;
}

// What a rule found in the text, as features the highlighter marks: the links of
// too_many_links, the listed word of a word-list reason found in the content.
function ruleEvidence(reason) {
  const p = reason.params || {};
  if (reason.code === "too_many_links") return [{ feature: "several links", weight: 1 }];
  if ((reason.code === "moderation_word" || reason.code === "disallowed_word") && p.field === "content" && p.word) {
    return [{ feature: `'${p.word}'`, weight: 1 }];
  }
  return [];
}

function renderSignals(signals) {
  const heading = t(signals.model === "toxicity" ? "toxicitySignals" : "spamSignals");
  const list = el("ul", { class: `chips features ${signals.model}`, "aria-label": heading });
  for (const f of signals.features) {
    list.append(
      el(
        "li",
        { class: `chip feature ${signals.model}`, "data-feature": f.feature, "data-model": signals.model },
        el("span", { class: "name", text: signalName(f.feature) }),
        " ",
        el("span", { class: "weight", text: weight(f.weight) }),
      ),
    );
  }
  return el("div", { class: "signals" }, el("span", { class: "signals-label", text: heading }), list);
}

// Who made a change: a moderator's name as it is, the service's own steps by name.
const actor = (by) => tx("actors", by);

// The comment's decisions, newest first, one line each: the change (previous → new status),
// who, from where, when, and the reason and note a moderator gave. Folded to one line until
// opened (by the moderator, or by the page when it learns of a decision it had not seen).
function renderHistory(item) {
  const entries = item.history || [];
  if (entries.length < 2) return null; // only the automatic verdict: nothing decided yet
  const list = el("ol", { class: "history-list" });
  for (const h of [...entries].reverse()) {
    const change = h.previous
      ? `${tx("statusNames", h.previous)} → ${tx("statusNames", h.status)}`
      : tx("statusNames", h.status);
    const li = el(
      "li",
      { "data-revision": String(h.revision) },
      el("span", { class: "change", text: change }),
      " · ",
      el("span", { class: "by", text: actor(h.by) }),
      h.via ? " · " : null,
      h.via ? el("span", { class: "via", text: tx("viaNames", h.via) }) : null,
      " · ",
      el("time", { dateTime: h.at, text: formatTime(h.at) }),
      h.reason ? " · " : null,
      h.reason ? el("span", { class: "reason-given", text: tx("rejectReasons", h.reason) }) : null,
      h.note ? " · " : null,
      h.note ? el("q", { class: "note", text: h.note }) : null,
    );
    list.append(li);
  }
  const details = el(
    "details",
    { class: "history", open: state.historyOpen.has(item.id) },
    el("summary", { text: t("historyTitle", entries.length - 1) }),
    list,
  );
  details.addEventListener("toggle", () => {
    if (details.open) state.historyOpen.add(item.id);
    else state.historyOpen.delete(item.id);
  });
  return details;
}

function renderItem(item) {
  const c = item.comment || {};
  const other = heldByOther(item);
  const decided = decidedByModerator(item);
  const conflict = state.conflicts.get(item.id);
  const selected = state.selected.has(item.id);
  const li = el("li", {
    class: "item" + (item.id === state.currentId ? " current" : "") + (selected ? " selected" : ""),
    tabIndex: -1,
    "data-id": item.id,
    "aria-labelledby": `author-${item.id}`,
  });

  // Only what can be acted on is selectable: not an item another moderator holds.
  let box = null;
  if (actionable(item)) {
    box = el("input", { type: "checkbox", checked: selected, "aria-label": `${t("select")}: ${c.author_name}` });
    box.addEventListener("change", () => toggleSelect(item.id, box.checked));
  }
  const head = el(
    "div",
    { class: "item-head" },
    box ? el("label", { class: "check" }, box) : null,
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
  if (decided) {
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
  // The article's title when the site sends one (as text, never markup), else its id.
  const article = c.post_title || item.post_id || href || "";
  const postProps = { class: "post", text: article, title: item.post_id || "" };
  addMeta(
    t("article"),
    href
      ? el("a", { ...postProps, href, target: "_blank", rel: "noopener noreferrer" })
      : el("span", postProps),
  );

  // The reasons explain the automatic outcome, whatever the comment's status is now; each
  // model-driven reason carries that model's signals, and those are what the text marks.
  const heading = tx("reasonsByStatus", item.auto_status || item.status);
  const reasons = el("ul", { class: "reason-list", "aria-label": heading });
  const marked = { spam: [], toxicity: [], rules: [] };
  for (const r of item.reasons) {
    const detail = reasonDetail(r);
    const signals = signalsFor(item, r);
    if (signals) marked[signals.model].push(...signals.features);
    marked.rules.push(...ruleEvidence(r));
    reasons.append(
      el(
        "li",
        { class: "reason-row" },
        el(
          "span",
          { class: "chip reason", "data-code": r.code, title: detail },
          el("span", { text: tx("reasonCodes", r.code) }),
          detail ? el("span", { class: "detail", text: detail }) : null,
        ),
        signals && signals.features.length ? renderSignals(signals) : null,
      ),
    );
  }

  const text = el("p", { class: "text", dir: "auto", lang: c.lang || "" });
  renderHighlighted(text, c.content || "", marked.spam, { toxicity: marked.toxicity, rules: marked.rules });

  const tox = item.toxicity || { label: "CLEAN", probabilities: {} };
  const toxP = tox.probabilities[tox.label];
  const scores = el(
    "p",
    { class: "scores" },
    el("span", { class: "score" + (item.spam_score >= 0.5 ? " high" : ""), "data-score": "spam", text: `${t("spamScore")}: ${fraction(item.spam_score)}` }),
    el("span", {
      class: "score" + (tox.label !== "CLEAN" ? " high" : ""),
      "data-score": "toxicity",
      text: `${t("toxicity")}: ${tx("toxLabels", tox.label)}${toxP === undefined ? "" : ` (${fraction(toxP)})`}`,
    }),
  );

  // Only the actions the item's state allows (offeredActions); disabled while another
  // moderator holds it.
  const actions = el("div", { class: "actions" });
  const disabled = Boolean(other);
  const button = (label, cls, handler) => {
    const b = el("button", { type: "button", class: cls, text: label, disabled });
    b.addEventListener("click", () => {
      state.currentId = item.id;
      handler();
    });
    return b;
  };
  const buttons = {
    approve: () => button(t("approve"), "approve", () => act("approve", [item.id])),
    reject: () => button(t("reject"), "danger", () => askReject([item.id], "reject")),
    spam: () => button(t("markSpam"), "spam", () => act("spam", [item.id], { reason: "spam" })),
    block: () => button(t("block"), "ghost", () => askReject([item.id], "spam")),
  };
  for (const action of offeredActions(item)) actions.append(buttons[action]());

  li.append(head);
  if (conflict) {
    li.append(el("p", { class: "conflict", role: "note", text: t("conflictNote", actor(conflict.by), tx("statusNames", conflict.status)) }));
  }
  li.append(meta, text, scores);
  if (item.reasons.length) li.append(el("p", { class: "label", text: heading }), reasons);
  const history = renderHistory(item);
  if (history) li.append(history);
  if (actions.childElementCount) li.append(actions);
  li.addEventListener("click", (e) => {
    if (e.target.closest("button, a, input, label, summary")) return;
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
  // A bulk action is shown only where it can change something (no "Reject selected" among
  // rejected comments) and enabled only when a selected item offers it.
  const chosen = state.items.filter((i) => state.selected.has(i.id));
  for (const [id, action] of [["bulk-approve", "approve"], ["bulk-reject", "reject"], ["bulk-spam", "spam"]]) {
    $(id).hidden = ACTION_STATUS[action] === state.status;
    $(id).disabled = !chosen.some((i) => refusal(i, action) === null);
  }
  const selectable = list.filter(actionable);
  $("select-all").disabled = selectable.length === 0;
  $("select-all").checked = selectable.length > 0 && selectable.every((i) => state.selected.has(i.id));
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
  const target = state.items.find((i) => i.id === id);
  if (on && !(target && actionable(target))) return;
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
    node.textContent = formatNumber(counts[status] ?? 0);
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
  state.conflicts.clear(); // a fresh list shows every comment as it is now
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
  for (const id of ["queue", "controls"]) $(id).hidden = false;
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
  for (const id of ["queue", "controls", "new-items"]) $(id).hidden = true;
  $("stats-view").hidden = false;
  // A "saved" note from the queue has nothing to say about the figures (nor its undo).
  if ($("toast").dataset.state !== "error") $("toast").hidden = true;
  state.sent = null;
  try {
    await showStats(state.site);
  } catch (err) {
    if (err instanceof api.ApiError && err.status === 401) showLogin(t("sessionEnded"));
    else toast(t("statsFailed", err.message), { state: "error" });
  }
}

// ---------- actions, held for the undo window, then sent with the revision seen ----------

const TO_STATUS = { approve: "approved", reject: "rejected", spam: "spam" };
const DECISION_FOR = { approved: "approve", rejected: "reject", spam: "spam" };
let moveSeq = 0;

// A change of status the shown counts must account for until the server's counts include it.
// Keyed per change, not per comment: a decision and its undo can both be on their way.
function startMove(id, from, to) {
  const key = `${id}#${++moveSeq}`;
  state.moving.set(key, { from, to, ackedAt: null });
  return key;
}

function acked(key) {
  const move = state.moving.get(key);
  if (move) move.ackedAt = state.countsSeq; // counts requested from now on include it
}

// The server's view of a comment, where it belongs: in the list shown if it has that queue's
// status, out of it otherwise.
function placeView(view, site) {
  if (site !== state.site) return;
  state.conflicts.delete(view.id);
  const at = state.items.findIndex((i) => i.id === view.id);
  if (view.status === state.status) {
    if (at >= 0) state.items[at] = view;
    else state.items.push(view);
  } else if (at >= 0) {
    state.items.splice(at, 1);
  }
}

// A decision refused because the comment moved on since the revision the page saw (another
// moderator, WordPress, Akismet): the reply carries the comment as it is now, which the page
// shows in place of what it had, whatever its status, with who decided it. True if handled.
function showConflict(err, id, site) {
  const problem = (err && err.problem) || {};
  if (!err || err.status !== 409 || problem.code !== "revision_conflict") return false;
  const current = problem.current;
  if (current && site === state.site) {
    const last = (current.history || []).at(-1) || {};
    const by = last.by || (current.decision && current.decision.by) || "";
    const at = state.items.findIndex((i) => i.id === id);
    if (at >= 0) state.items[at] = current;
    else state.items.push(current);
    state.conflicts.set(id, { by, status: current.status });
    state.historyOpen.add(id);
  }
  return true;
}

function act(decision, ids, extra = {}) {
  flush();
  state.sent = null;
  const byId = new Map(state.items.map((i) => [i.id, i]));
  const targets = ids.filter((id) => byId.has(id) && !state.hidden.has(id));
  const action = decision === "spam" && (extra.block_email || extra.block_ip) ? "block" : decision;
  const usable = targets.filter((id) => refusal(byId.get(id), action) === null);
  if (!usable.length) {
    if (targets.length) toast(refusal(byId.get(targets[0]), action), { state: "error" });
    return;
  }
  const list = visibleItems();
  const at = Math.max(0, list.findIndex((i) => i.id === state.currentId));
  // What the page saw of each comment: its revision goes with the decision, and its status is
  // what an undo after sending restores.
  const seen = new Map();
  const moves = new Map();
  for (const id of usable) {
    const item = byId.get(id);
    state.hidden.add(id);
    state.selected.delete(id);
    seen.set(id, item);
    moves.set(id, startMove(id, item.status, TO_STATUS[decision]));
  }
  const rest = visibleItems();
  state.currentId = rest.length ? rest[Math.min(at, rest.length - 1)].id : null;
  const site = state.site;
  const held = { ids: usable, decision, extra, site, seen, moves, seq: ++state.actions, timer: null };
  setOutbox(1);
  state.held = held;
  const wait = Math.max(0, Number(state.session.undo_seconds) * 1000);
  held.timer = setTimeout(() => flush(), wait);
  toast(done(decision, usable.length), { undo: wait > 0, state: "held" });
  renderCounts();
  render({ focus: true });
}

// u / the toast's button: take back the held action (nothing sent), or revise the last one sent.
function undo() {
  if (state.held) cancelHeld();
  else if (state.sent) revert(state.sent);
}

function cancelHeld() {
  const held = state.held;
  clearTimeout(held.timer);
  state.held = null;
  for (const id of held.ids) {
    state.hidden.delete(id);
    state.moving.delete(held.moves.get(id));
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
  const bodyFor = (id) => {
    const body = { decision: held.decision, ...held.extra };
    const revision = held.seen.get(id).revision;
    if (Number.isInteger(revision)) body.expected_revision = revision;
    return body;
  };
  const results = await Promise.allSettled(held.ids.map((id) => api.decide(held.site, id, bodyFor(id), { keepalive })));
  const entries = [];
  let failure = null;
  let conflicts = 0;
  results.forEach((result, i) => {
    const id = held.ids[i];
    state.hidden.delete(id);
    if (result.status === "fulfilled") {
      acked(held.moves.get(id));
      placeView(result.value, held.site);
      entries.push({ before: held.seen.get(id), after: result.value });
      return;
    }
    state.moving.delete(held.moves.get(id));
    const err = result.reason;
    if (showConflict(err, id, held.site)) {
      conflicts += 1;
      return;
    }
    const problem = (err && err.problem) || {};
    const item = state.items.find((x) => x.id === id);
    if (err && err.status === 409 && problem.claimed_by && item) item.claim = { by: problem.claimed_by };
    failure = failure || err;
  });
  setOutbox(-1);
  // Undone after sending only as a whole, by decisions that restore every previous status.
  const restorable =
    entries.length === held.ids.length &&
    !held.extra.block_email &&
    !held.extra.block_ip &&
    entries.every(({ before }) => DECISION_FOR[before.status]);
  const latest = held.seq === state.actions; // no later action has taken the toast
  finish(failure, conflicts, () => {
    if (!latest) return;
    state.sent = restorable && held.site === state.site ? { site: held.site, entries } : null;
    toast(t("saved"), { undo: Boolean(state.sent), state: "saved" });
  });
}

// Undo of a sent action: each comment's previous status as a new decision (with the reason it
// had), based on the revision the first decision got, so a comment someone decided since is
// left as it is and shown instead.
async function revert(sent) {
  state.sent = null;
  const moves = new Map();
  for (const { before, after } of sent.entries) moves.set(after.id, startMove(after.id, after.status, before.status));
  setOutbox(1);
  toast(t("undoing"), { state: "held" });
  renderCounts();
  const bodyFor = ({ before, after }) => {
    const body = { decision: DECISION_FOR[before.status], expected_revision: after.revision };
    const reason = (before.decision && before.decision.reason) || (before.status === "spam" ? "spam" : null);
    if (reason) body.reason = reason;
    return body;
  };
  const results = await Promise.allSettled(sent.entries.map((e) => api.decide(sent.site, e.after.id, bodyFor(e))));
  let failure = null;
  let conflicts = 0;
  results.forEach((result, i) => {
    const id = sent.entries[i].after.id;
    if (result.status === "fulfilled") {
      acked(moves.get(id));
      placeView(result.value, sent.site);
      return;
    }
    state.moving.delete(moves.get(id));
    if (showConflict(result.reason, id, sent.site)) conflicts += 1;
    else failure = failure || result.reason;
  });
  setOutbox(-1);
  finish(failure, conflicts, () => toast(t("undone"), { state: "undone" }));
}

// After the server answered: say how it went, redraw, and ask for fresh counts.
function finish(failure, conflicts, onSuccess) {
  if (failure && failure.status === 401) showLogin(t("sessionEnded"));
  else if (failure) toast(t("failed", failure.message), { state: "error" });
  else if (conflicts) toast(t("conflict", conflicts), { state: "conflict" });
  else onSuccess();
  renderCounts();
  // render() builds the list anew: keep the keyboard on the current comment if it was there.
  render({ focus: $("items").contains(document.activeElement) });
  pollCounts();
}

function targetsFor() {
  if (state.selected.size) return [...state.selected];
  return state.currentId ? [state.currentId] : [];
}

// The reasons a spam decision can carry: whatever is picked, the comment is filed as spam
// and becomes a spam training label, so "hate speech" or "harassment" here would be a lie.
const SPAM_REASONS_OFFERED = ["spam", "advertising"];

function askReject(ids, decision) {
  const action = decision === "spam" ? "block" : "reject";
  const byId = new Map(state.items.map((i) => [i.id, i]));
  const usable = ids.filter((id) => byId.has(id) && refusal(byId.get(id), action) === null);
  if (!usable.length) {
    if (ids.length && byId.has(ids[0])) toast(refusal(byId.get(ids[0]), action), { state: "error" });
    return;
  }
  ids = usable;
  const dialog = $("reject-dialog");
  $("reject-title").textContent = decision === "spam" ? t("blockTitle") : t("rejectTitle");
  const first = state.items.find((i) => i.id === ids[0]);
  const codes = decision === "spam" ? SPAM_REASONS_OFFERED : REJECT_REASONS;
  $("reason-legend").textContent = t("reasonLegend", codes.length);
  $("reject-error").textContent = "";
  const options = codes.map((code, i) => {
    const input = el("input", { type: "radio", name: "reason", value: code, id: `reason-${code}` });
    // A rejection starts with no reason chosen: the moderator must pick one. The reason is
    // the training label's source (README, "Feedback loop": rejected with reason spam or
    // advertising counts as spam), so a preselected "Spam" confirmed with Enter taught the
    // spam model that every rude or off-topic comment was spam. "Spam and block" is a spam
    // decision whatever the reason, so "spam" may stand there.
    input.checked = decision === "spam" && code === "spam";
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
    const picked = dialog.querySelector("input[name=reason]:checked");
    if (!picked) return; // refused by the form's submit handler; never sent without a reason
    const extra = { reason: picked.value };
    if ($("block-email").checked) extra.block_email = true;
    if ($("block-ip").checked) extra.block_ip = true;
    act(decision, ids, extra);
  };
  dialog.showModal();
  const checked = dialog.querySelector("input[name=reason]:checked") || dialog.querySelector("input[name=reason]");
  if (checked) checked.focus();
}

// Confirming without a reason keeps the dialog open and says why.
function confirmReject() {
  const dialog = $("reject-dialog");
  if (!dialog.querySelector("input[name=reason]:checked")) {
    $("reject-error").textContent = t("chooseReason");
    const firstOption = dialog.querySelector("input[name=reason]");
    if (firstOption) firstOption.focus();
    return;
  }
  dialog.close("confirm");
}

// ---------- sign-in, sites, language ----------

function showLogin(message = "") {
  if (state.pollTimer) clearInterval(state.pollTimer);
  state.pollTimer = null;
  state.session = null;
  state.sent = null;
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
  if (/^[1-9]$/.test(event.key)) {
    const input = dialog.querySelectorAll("input[name=reason]")[Number(event.key) - 1];
    if (!input) return;
    input.checked = true;
    input.focus();
    $("reject-error").textContent = "";
    event.preventDefault();
  } else if (event.key === "Enter" && !event.target.closest("button")) {
    event.preventDefault();
    confirmReject();
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
    state.sent = null;
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
  for (const id of ["filter-post", "filter-reason", "sort"]) {
    $(id).addEventListener("input", () => {
      renderFilterCount();
      render();
    });
  }
  $("select-all").addEventListener("change", () => {
    const list = visibleItems().filter(actionable);
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
  $("reject-form").addEventListener("submit", (event) => {
    if (!event.submitter || event.submitter.value !== "confirm") return;
    event.preventDefault();
    confirmReject();
  });
  $("reject-form").addEventListener("change", () => ($("reject-error").textContent = ""));
  for (const [toggle, panel] of [["toggle-filters", "queue-tools"], ["toggle-bulk", "bulkbar"]]) {
    $(toggle).addEventListener("click", () => {
      const open = $(toggle).getAttribute("aria-expanded") !== "true";
      $(toggle).setAttribute("aria-expanded", String(open));
      $(panel).classList.toggle("open", open);
    });
  }
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
