// The "Thống kê / Stats" view: one GET /v1/sites/{site}/stats, drawn with uPlot (vendored
// under /static/vendor/uplot, loaded only when the view opens), except the reasons, which are
// HTML bars: their labels are long sentences that a canvas axis slants and clips. Every chart
// has a data table beside it, so screen readers and tests read the same figures the bars show.

import * as api from "./api.js";
import { formatNumber, language, t, tx } from "./i18n.js";

const $ = (id) => document.getElementById(id);
const COLORS = { approved: "#0a7a3d", pending: "#b07d00", spam: "#b3261e", rejected: "#6b3fa0" };
const STACK = ["approved", "pending", "spam", "rejected"];
const WAIT_COLOR = "#12263f";

let uPlotModule = null;
let charts = [];
let lastData = null;

async function loadUPlot() {
  if (!uPlotModule) uPlotModule = (await import("../vendor/uplot/uPlot.esm.js")).default;
  return uPlotModule;
}

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else node.setAttribute(key, value);
  }
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

function number(n) {
  return formatNumber(n);
}

function percent(share) {
  if (share === null || share === undefined) return "–";
  return formatNumber(share, { style: "percent", maximumFractionDigits: 1 });
}

// A duration in the moderator's language: "12 giây", "3,5 phút", "2 giờ", "1,2 ngày".
export function duration(seconds) {
  if (seconds === null || seconds === undefined) return "–";
  const fmt = (v) => formatNumber(v, { maximumFractionDigits: 1 });
  if (seconds < 60) return t("unitSeconds", fmt(seconds));
  if (seconds < 3600) return t("unitMinutes", fmt(seconds / 60));
  if (seconds < 86400) return t("unitHours", fmt(seconds / 3600));
  return t("unitDays", fmt(seconds / 86400));
}

function shortDay(day) {
  const [, m, d] = day.split("-");
  return language() === "vi" ? `${d}/${m}` : `${d}/${m}`;
}

function width(node) {
  return Math.max(280, Math.floor(node.getBoundingClientRect().width) || 600);
}

function table(caption, head, rows, cls = "") {
  return el(
    "table",
    { class: `data ${cls}`.trim() },
    el("caption", { text: caption }),
    el("thead", {}, el("tr", {}, ...head.map((h) => el("th", { scope: "col", text: h })))),
    el("tbody", {}, ...rows.map((r) => el("tr", {}, ...r.map((c, i) => (i === 0 ? el("th", { scope: "row", text: String(c) }) : el("td", { text: typeof c === "number" ? number(c) : String(c) })))))),
  );
}

function destroyCharts() {
  for (const chart of charts) chart.destroy();
  charts = [];
}

// Stacked bars: each series is drawn as the running total up to it, largest first, so the
// later (smaller) bars paint over the earlier ones; the legend shows the series' own value.
function stackedBars(uPlot, host, labels, stack) {
  const n = labels.length;
  const xs = labels.map((_, i) => i);
  const cumulative = [];
  let running = new Array(n).fill(0);
  for (const s of stack) {
    running = running.map((v, i) => v + s.values[i]);
    cumulative.push(running);
  }
  const bars = uPlot.paths.bars({ size: [0.7, 48] });
  const series = [{ label: t("statsDay"), value: (u, v) => (v === null || v === undefined ? "" : labels[v] ?? "") }];
  const data = [xs];
  for (let k = stack.length - 1; k >= 0; k--) {
    const s = stack[k];
    series.push({
      label: s.label,
      fill: s.color,
      stroke: s.color,
      width: 0,
      paths: bars,
      points: { show: false },
      value: (u, v, si, idx) => (idx === null || idx === undefined ? "" : number(s.values[idx])),
    });
    data.push(cumulative[k]);
  }
  const max = Math.max(1, ...running);
  const w = width(host);
  // A label every `step` days, so 90 days still fit a phone's width (about 48 px a label).
  const step = Math.max(1, Math.ceil(n / Math.max(1, Math.floor(w / 48))));
  const ticks = xs.filter((i) => (n - 1 - i) % step === 0);
  const opts = {
    width: w,
    height: 240,
    scales: { x: { time: false, range: [-0.6, n - 0.4] }, y: { range: [0, Math.ceil(max * 1.1)] } },
    axes: [
      { splits: () => ticks, values: (u, splits) => splits.map((i) => labels[i] ?? ""), gap: 4, grid: { show: false } },
      { values: (u, splits) => splits.map((v) => (Number.isInteger(v) ? number(v) : "")) },
    ],
    series,
    // Colours and names only: a live legend shows "Name:" with an empty value until the
    // pointer is over a bar (the data table has every figure).
    legend: { live: false },
    cursor: { drag: { x: false, y: false } },
  };
  return new uPlot(opts, data, host);
}

// Bars over categories (reasons, waiting-time buckets): x is the category's index.
function categoryBars(uPlot, host, labels, values, color, name, axisName) {
  const xs = labels.map((_, i) => i);
  const w = width(host);
  // Slanted labels when the longest would not fit its bar's slot (about 7 px a character).
  const longest = Math.max(1, ...labels.map((l) => l.length));
  const slant = longest * 7 > (w - 60) / labels.length;
  const opts = {
    width: w,
    height: 240,
    scales: { x: { time: false, range: [-0.6, labels.length - 0.4] }, y: { range: [0, Math.ceil(Math.max(1, ...values) * 1.15)] } },
    axes: [
      {
        splits: () => xs,
        values: (u, splits) => splits.map((i) => labels[i] ?? ""),
        rotate: slant ? 35 : 0,
        size: slant ? Math.min(150, 20 + longest * 4.5) : 40,
        gap: 4,
        grid: { show: false },
      },
      { values: (u, splits) => splits.map((v) => (Number.isInteger(v) ? number(v) : "")) },
    ],
    series: [
      { label: axisName, value: (u, v) => (v === null || v === undefined ? "" : labels[v] ?? "") },
      { label: name, fill: color, stroke: color, width: 0, paths: uPlot.paths.bars({ size: [0.7, 56] }), points: { show: false }, value: (u, v) => (v === null || v === undefined ? "" : number(v)) },
    ],
    // One series: the title names it, and a legend would only add an empty "Count:".
    legend: { show: false },
    cursor: { drag: { x: false, y: false } },
  };
  return new uPlot(opts, [xs, values], host);
}

// Horizontal HTML bars for the reasons: the whole label on the left (wrapped, never cut),
// the bar, the count.
function reasonBars(codes, counts) {
  const max = Math.max(1, ...codes.map((c) => counts[c]));
  const rows = codes.map((code) => {
    const bar = el("span", { class: "hbar" });
    bar.style.width = `${(100 * counts[code]) / max}%`; // CSSOM, which the page's CSP allows
    return el(
      "li",
      { "data-code": code },
      el("span", { class: "hbar-label", text: tx("reasonCodes", code) }),
      el("span", { class: "hbar-track", "aria-hidden": "true" }, bar),
      el("span", { class: "hbar-value", text: number(counts[code]) }),
    );
  });
  return el("ol", { class: "chart hbars", "data-chart": "reasons" }, ...rows);
}

function bucketLabel(le, previous) {
  if (le === null) return `> ${duration(previous)}`;
  return `≤ ${duration(le)}`;
}

function summary(data) {
  const totals = data.totals;
  const ttd = totals.time_to_decision;
  const q = data.queue;
  const card = (key, value) => el("div", { class: "stat", "data-stat": key }, el("dt", { text: t(`stat_${key}`) }), el("dd", { text: value }));
  return el(
    "dl",
    { class: "stat-cards" },
    card("submitted", number(totals.submitted)),
    card("spamShare", percent(totals.spam_share)),
    card("decided", number(Object.values(totals.decided).reduce((a, b) => a + b, 0))),
    card("pending", number(q.pending)),
    card("oldest", duration(q.oldest_seconds)),
    card("p50", duration(ttd.p50_seconds)),
    card("p90", duration(ttd.p90_seconds)),
  );
}

async function draw(data) {
  const uPlot = await loadUPlot();
  destroyCharts();
  const view = $("stats-body");
  const days = data.daily.map((d) => shortDay(d.day));
  const sections = [];

  // 1. Incoming comments per day, stacked by the automatic outcome.
  const perDay = el("div", { class: "chart", "data-chart": "daily" });
  const dailyTable = table(
    t("statsDailyTable"),
    [t("statsDay"), t("statsSubmitted"), ...STACK.map((s) => tx("statusNames", s)), t("statsDecided")],
    data.daily.map((d) => [d.day, d.submitted, ...STACK.map((s) => d.auto[s]), Object.values(d.decided).reduce((a, b) => a + b, 0)]),
    "daily",
  );
  sections.push(el("section", { class: "card chart-card" }, el("h3", { text: t("statsDailyTitle") }), perDay, el("details", {}, el("summary", { text: t("statsShowTable") }), dailyTable)));

  // 2. Reasons over the window, most frequent first.
  const reasonCodes = Object.keys(data.totals.reasons);
  const reasonTable = table(
    t("statsReasonsTable"),
    [t("filterReason"), t("statsCount")],
    reasonCodes.map((c) => [tx("reasonCodes", c), data.totals.reasons[c]]),
    "reasons",
  );
  sections.push(
    el(
      "section",
      { class: "card chart-card" },
      el("h3", { text: t("statsReasonsTitle") }),
      reasonCodes.length ? reasonBars(reasonCodes, data.totals.reasons) : el("p", { class: "muted", text: t("statsNone") }),
      el("details", {}, el("summary", { text: t("statsShowTable") }), reasonTable),
    ),
  );

  // 3. Time from submission to a moderator's decision (held comments only).
  const buckets = data.totals.time_to_decision.buckets;
  let last = 0;
  // Buckets below the first used one and above the last used one carry no information.
  const used = buckets.map((b, i) => (b.count ? i : -1)).filter((i) => i >= 0);
  const lo = used.length ? Math.max(0, used[0] - 1) : 0;
  const hi = used.length ? Math.min(buckets.length - 1, used[used.length - 1] + 1) : 5;
  const waitLabels = [];
  const waitValues = [];
  buckets.forEach((b, i) => {
    const label = bucketLabel(b.le_seconds, last);
    if (b.le_seconds !== null) last = b.le_seconds;
    if (i >= lo && i <= hi) {
      waitLabels.push(label);
      waitValues.push(b.count);
    }
  });
  const waitHost = el("div", { class: "chart", "data-chart": "wait" });
  const waitTable = table(
    t("statsWaitTable"),
    [t("statsWaitBucket"), t("statsCount")],
    waitLabels.map((l, i) => [l, waitValues[i]]),
    "wait",
  );
  sections.push(el("section", { class: "card chart-card" }, el("h3", { text: t("statsWaitTitle") }), waitHost, el("details", {}, el("summary", { text: t("statsShowTable") }), waitTable)));

  view.replaceChildren(summary(data), ...sections);

  const stack = STACK.map((s) => ({ label: tx("statusNames", s), color: COLORS[s], values: data.daily.map((d) => d.auto[s]) }));
  charts.push(stackedBars(uPlot, perDay, days, stack));
  charts.push(categoryBars(uPlot, waitHost, waitLabels, waitValues, WAIT_COLOR, t("statsCount"), t("statsWaitBucket")));
  $("stats-view").dataset.ready = "1";
}

export async function showStats(site) {
  const view = $("stats-view");
  view.dataset.ready = "0";
  const days = Number($("stats-days").value) || 14;
  const data = await api.stats(site, days);
  lastData = data;
  await draw(data);
}

// Redraw in the new language (labels and number formats) without asking the server again.
export async function redrawStats() {
  if (lastData && !$("stats-view").hidden) await draw(lastData);
}

export function hideStats() {
  destroyCharts();
}

// Charts have a fixed pixel width: draw them again when the window's width changes.
let resizeFrame = 0;
let lastWidth = window.innerWidth;
window.addEventListener("resize", () => {
  if (window.innerWidth === lastWidth) return;
  lastWidth = window.innerWidth;
  cancelAnimationFrame(resizeFrame);
  resizeFrame = requestAnimationFrame(() => redrawStats());
});
