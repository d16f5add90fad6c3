// attain's dashboard: one page per role, drawn from the REST API with the
// signed-in token. No framework and nothing from outside this server.
"use strict";

const TOKEN_KEY = "attain-token";
let session = null; // { token, role, scope, name }

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v !== undefined && v !== null) node.setAttribute(k, v);
  }
  for (const child of children) {
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

async function api(path, accept) {
  const response = await fetch(path, {
    headers: { Authorization: "Bearer " + session.token, Accept: accept || "application/json" },
  });
  if (!response.ok) {
    let detail = response.status + " " + response.statusText;
    try {
      const problem = await response.json();
      if (problem.detail) detail = problem.detail;
    } catch (_) { /* not JSON */ }
    const error = new Error(detail);
    error.status = response.status;
    throw error;
  }
  return response;
}

function money(value) {
  const n = Number(value);
  if (!Number.isFinite(n)) return String(value);
  return n.toLocaleString("en-US", { maximumFractionDigits: 0 });
}

function pct(p) {
  return (100 * Number(p)).toFixed(0) + "%";
}

// A chart: fetched with the token (an <img> cannot send one), shown from a
// blob URL. data-state says loading, ok or error (the browser test reads it).
function chart(name, query, alt) {
  const figure = el("figure", { "data-chart": name, "data-state": "loading" });
  const url = "/v1/reports/" + name + ".svg" + (query ? "?" + query : "");
  api(url, "image/svg+xml")
    .then((r) => r.blob())
    .then((blob) => {
      const img = el("img", { alt: alt || name });
      img.addEventListener("load", () => figure.setAttribute("data-state", "ok"));
      img.addEventListener("error", () => {
        figure.setAttribute("data-state", "error");
        figure.append(el("p", { class: "error" }, "the chart did not render"));
      });
      img.src = URL.createObjectURL(blob);
      figure.append(img);
    })
    .catch((e) => {
      figure.setAttribute("data-state", "error");
      figure.append(el("p", { class: "error" }, name + ": " + e.message));
    });
  return figure;
}

// A table filled from a JSON list.
function table(caption, columns, load) {
  const body = el("tbody");
  const head = el("tr", {}, ...columns.map((c) => el("th", { class: c.num ? "num" : null }, c.label)));
  const node = el("table", { "data-list": caption, "data-state": "loading" },
    el("caption", {}, caption), el("thead", {}, head), body);
  load()
    .then((rows) => {
      for (const row of rows) {
        body.append(el("tr", {}, ...columns.map((c) => el("td", { class: c.num ? "num" : null }, c.value(row, rows)))));
      }
      if (rows.length === 0) body.append(el("tr", {}, el("td", { colspan: columns.length }, "nothing to show")));
      node.setAttribute("data-state", "ok");
    })
    .catch((e) => {
      node.setAttribute("data-state", "error");
      body.append(el("tr", {}, el("td", { colspan: columns.length, class: "error" }, e.message)));
    });
  return node;
}

const json = (path) => api(path).then((r) => r.json());

function reasonsOf(rep) {
  return el("div", { class: "reasons" }, rep.reasons.slice(0, 3).map((r) => r.message).join(" · "));
}

// A person's name, once; the id follows only when two rows share the name.
function personLabel(rows) {
  const seen = {};
  rows.forEach((r) => { seen[r.name] = (seen[r.name] || 0) + 1; });
  return (r) => (seen[r.name] > 1 ? r.name + " (" + r.rep_id + ")" : r.name);
}

function coachingTable(query) {
  return table("Coaching priorities", [
    { label: "Rep", value: (r, rows) => personLabel(rows)(r) },
    { label: "P(miss quota)", num: true, value: (r) => pct(r.p_miss_quota) },
    { label: "Expected shortfall", num: true, value: (r) => money(r.expected_shortfall) },
    { label: "Why", value: (r) => reasonsOf(r) },
  ], () => json("/v1/coaching?limit=15" + (query ? "&" + query : "")).then((p) => p.reps));
}

// A figure with its sign spelled out ("+12%", "-40%").
const signed = (text, value) => (value > 0 ? "+" + text : text);

// The same reps ranked by how far their business fell against their own
// past, those whose quarter is at risk first among similar falls.
function declineTable() {
  const d = (r, f) => (r.decline ? f(r.decline) : "-");
  return table("Fallen against their own past", [
    { label: "Rep", value: (r, rows) => personLabel(rows)(r) },
    { label: "Change", num: true, value: (r) => d(r, (x) => signed(pct(-x.share), -x.share)) },
    { label: "Change per quarter", num: true,
      value: (r) => d(r, (x) => signed(money(-Number(x.per_quarter)), -Number(x.per_quarter))) },
    { label: "Evidence (z)", num: true, value: (r) => d(r, (x) => x.score.toFixed(1)) },
    { label: "Over", num: true, value: (r) => d(r, (x) => Math.round(x.window_days / 30.4) + " months") },
    { label: "P(miss quota)", num: true, value: (r) => pct(r.p_miss_quota) },
  ], () => json("/v1/coaching?rank_by=decline&limit=10").then((p) => p.reps));
}

function forecastTable(level) {
  return table("Forecast by " + level, [
    { label: level, value: (r) => r.id },
    { label: "Period", value: (r) => r.period },
    { label: "P10", num: true, value: (r) => money(r.p10) },
    { label: "P50", num: true, value: (r) => money(r.p50) },
    { label: "P90", num: true, value: (r) => money(r.p90) },
    { label: "Booked to date", num: true, value: (r) => money(r.booked_to_date) },
  ], () => json("/v1/forecasts?level=" + level + "&limit=200").then((p) =>
    p.forecasts.filter((r) => r.period.includes("Q"))));
}

function payoutTable(level, query) {
  return table("Payouts by " + level, [
    { label: level, value: (r) => r.id },
    { label: "Earned to date", num: true, value: (r) => money(r.earned_to_date) },
    { label: "P10", num: true, value: (r) => money(r.p10) },
    { label: "P50", num: true, value: (r) => money(r.p50) },
    { label: "P90", num: true, value: (r) => money(r.p90) },
    { label: "Mean (accrue)", num: true, value: (r) => money(r.mean) },
  ], () => json("/v1/commissions/projections?level=" + level + (query ? "&" + query : "")).then((p) => p.payouts));
}

function dealsTable() {
  return table("Open deals most at risk", [
    { label: "Deal", value: (d) => d.opportunity_id },
    { label: "Amount", num: true, value: (d) => money(d.amount) },
    { label: "P(win)", num: true, value: (d) => pct(d.p_win) },
    { label: "Drivers", value: (d) => el("div", { class: "reasons" }, d.drivers.map((x) => x.message).join(" · ")) },
  ], () => json("/v1/opportunities?sort=risk&limit=15").then((p) => p.opportunities));
}

// The entity a scoped token looks at; whole-organisation roles see the company.
function ownEntity() {
  if (session.role === "manager") return "level=manager&id=" + encodeURIComponent(session.scope);
  if (session.role === "rep") return "level=rep&id=" + encodeURIComponent(session.scope);
  return "level=company";
}

const PAGES = {
  leader: {
    title: "Leader",
    roles: ["admin", "leader"],
    build: () => [
      el("h2", {}, "Will we hit the number?"),
      el("div", { class: "grid" },
        chart("forecast", "level=company", "company forecast fan"),
        chart("backtest", "", "backtest against baselines"),
        chart("attainment", "level=company", "attainment distribution"),
        chart("waterfall", "level=company", "pipeline waterfall"),
        chart("calibration", "", "win-probability reliability")),
      el("h2", {}, "Lists"),
      forecastTable("region"),
      coachingTable(""),
    ],
  },
  manager: {
    title: "Manager",
    roles: ["admin", "leader", "manager"],
    build: () => [
      el("h2", {}, "Whom do I coach first, and about what?"),
      el("div", { class: "grid" },
        chart("coaching", session.role === "manager" ? ownEntity() : "", "coaching quadrant"),
        chart("forecast", ownEntity(), "team forecast fan"),
        chart("attainment", ownEntity(), "team attainment"),
        chart("waterfall", ownEntity(), "team pipeline waterfall")),
      coachingTable(""),
      declineTable(),
    ],
  },
  finance: {
    title: "Finance",
    roles: ["admin", "finance"],
    build: () => [
      el("h2", {}, "What will we pay out, and what should we accrue?"),
      el("div", { class: "grid" },
        chart("payouts", "level=manager", "payout range per team"),
        chart("payouts", "level=rep", "payout range per rep"),
        chart("forecast", "level=company", "company forecast fan")),
      payoutTable("manager", ""),
      payoutTable("company", ""),
    ],
  },
  rep: {
    title: "My numbers",
    roles: ["rep"],
    build: () => [
      el("h2", {}, "My forecast, payout and deals"),
      el("div", { class: "grid" },
        chart("forecast", ownEntity(), "my forecast fan"),
        chart("payouts", "level=rep", "my payout range"),
        chart("waterfall", ownEntity(), "my pipeline waterfall")),
      dealsTable(),
    ],
  },
};

function pagesFor(role) {
  return Object.entries(PAGES).filter(([, p]) => p.roles.includes(role)).map(([k]) => k);
}

function show(key) {
  const page = document.getElementById("page");
  page.replaceChildren(...PAGES[key].build());
  page.hidden = false;
  page.setAttribute("data-page", key);
  for (const b of document.querySelectorAll("#tabs button")) {
    if (b.dataset.page === key) b.setAttribute("aria-current", "page");
    else b.removeAttribute("aria-current");
  }
  history.replaceState(null, "", "#" + key);
}

async function start(token) {
  session = { token };
  const who = await json("/v1/whoami");
  session = { token, role: who.role, scope: who.scope, name: who.name };
  sessionStorage.setItem(TOKEN_KEY, token);
  document.getElementById("login").hidden = true;
  const tabs = document.getElementById("tabs");
  const keys = pagesFor(who.role);
  tabs.replaceChildren(...keys.map((k) => {
    const b = el("button", { type: "button", "data-page": k }, PAGES[k].title);
    b.addEventListener("click", () => show(k));
    return b;
  }));
  const out = el("button", { type: "button", id: "sign-out" }, "Sign out");
  out.addEventListener("click", () => {
    sessionStorage.removeItem(TOKEN_KEY);
    location.hash = "";
    location.reload();
  });
  document.getElementById("who").replaceChildren(
    who.role + (who.scope ? " · " + who.scope : "") + (who.name ? " · " + who.name : ""), out);
  const wanted = location.hash.slice(1);
  show(keys.includes(wanted) ? wanted : keys[0]);
}

function showLogin(message) {
  document.getElementById("page").hidden = true;
  document.getElementById("login").hidden = false;
  document.getElementById("login-error").textContent = message || "";
}

document.addEventListener("DOMContentLoaded", () => {
  document.getElementById("login-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const token = document.getElementById("token").value.trim();
    start(token).catch((e) => showLogin(e.message));
  });
  const saved = sessionStorage.getItem(TOKEN_KEY);
  if (saved) start(saved).catch((e) => showLogin(e.message));
  else showLogin("");
});
