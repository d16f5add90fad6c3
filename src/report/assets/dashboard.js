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

// Short labels of the coaching reasons' codes.
const REASON_LABELS = {
  no_deals: "no deals",
  coverage_gap: "coverage gap",
  win_rate_drop: "win rate down",
  slipped_deals: "slipped deals",
  stale_deals: "stale deals",
  pipeline_creation_down: "fewer new deals",
  renewals_down: "renewals down",
  cycle_length_up: "longer cycles",
  ramping_hire: "ramping hire",
};

// A rep's top reason as a short label and its money; the full sentences
// (top three) open on demand.
function reasonsOf(rep) {
  if (rep.reasons.length === 0) return "-";
  const top = rep.reasons[0];
  const label = (REASON_LABELS[top.code] || top.code.replace(/_/g, " ")) +
    (Number(top.impact) ? " · " + money(top.impact) : "");
  return el("details", { class: "reasons" },
    el("summary", {}, label),
    ...rep.reasons.slice(0, 3).map((r) => el("p", {}, r.message)));
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
function ownView() {
  if (session.role === "manager") return { level: "manager", id: session.scope };
  if (session.role === "rep") return { level: "rep", id: session.scope };
  return { level: "company", id: "company" };
}

// What the pages look at: an entity (within the token's reach) and a
// period, chosen with the pickers; the token's own entity by default.
let view = null;

function current() {
  return view || Object.assign(ownView(), { period: null });
}

function ownEntity() {
  const v = current();
  return v.level === "company" ? "level=company" : "level=" + v.level + "&id=" + encodeURIComponent(v.id);
}

function periodQuery() {
  const p = current().period;
  return p ? "&period=" + encodeURIComponent(p) : "";
}

// The person a view belongs to (their calls), if any.
function viewPerson() {
  const v = current();
  return v.level === "rep" || v.level === "manager" ? v.id : null;
}

const isoDay = (d) => d.toISOString().slice(0, 10);
const daysAgo = (n) => isoDay(new Date(Date.now() - n * 86400000));

// The quarter a day falls in (calendar quarters; the server names the
// fiscal ones, and its forecast's periods fill the picker).
function quarterOf(day) {
  return day.slice(0, 4) + "-Q" + (Math.floor((Number(day.slice(5, 7)) - 1) / 3) + 1);
}

// Entity and period pickers. Entities: the company and its regions for
// tokens that see everyone; every leader and manager in reach; the reps of
// the team looked at.
function pickers(rerender) {
  const entity = el("select", { id: "pick-entity", "aria-label": "Whose numbers" });
  const period = el("select", { id: "pick-period", "aria-label": "Period" });
  const bar = el("div", { class: "pickers", "data-state": "loading" },
    el("label", {}, "Looking at ", entity), el("label", {}, " for ", period));
  const v = current();
  const option = (value, label, chosen) => {
    const o = el("option", { value }, label);
    if (chosen) o.selected = true;
    return o;
  };
  const all = session.role === "admin" || session.role === "leader" || session.role === "finance";
  Promise.all([
    json("/v1/calls" + (v.period ? "?period=" + encodeURIComponent(v.period) : "")).catch(() => ({ calls: [] })),
    all ? json("/v1/forecasts?level=region&limit=200").catch(() => ({ forecasts: [] })) : Promise.resolve({ forecasts: [] }),
    json("/v1/forecasts?" + ownEntity() + "&limit=200").catch(() => ({ forecasts: [] })),
  ]).then(([calls, regions, mine]) => {
    const key = v.level + ":" + v.id;
    if (all) entity.append(option("company:company", "the company", key === "company:company"));
    const regionIds = [...new Set(regions.forecasts.map((r) => r.id))].sort();
    if (regionIds.length) {
      entity.append(el("optgroup", { label: "Regions" },
        ...regionIds.map((r) => option("region:" + r, "region " + r, key === "region:" + r))));
    }
    const people = calls.calls || [];
    const head = people.length && !people[0].manager_id && all ? people[0].person_id : null;
    const teams = people.filter((p) => p.level !== "rep" && p.person_id !== head);
    if (teams.length) {
      entity.append(el("optgroup", { label: "Teams" },
        ...teams.map((p) => option("manager:" + p.person_id, "team of " + p.name, key === "manager:" + p.person_id))));
    }
    const reps = people.filter((p) => p.level === "rep" &&
      (p.manager_id === v.id || p.person_id === v.id));
    if (reps.length) {
      entity.append(el("optgroup", { label: "Reps" },
        ...reps.map((p) => option("rep:" + p.person_id, p.name, key === "rep:" + p.person_id))));
    }
    if (!entity.value) entity.append(option(key, v.id, true));
    const quarters = [...new Set(mine.forecasts.map((r) => r.period).filter((p) => p.includes("Q")))];
    const today = quarterOf(isoDay(new Date()));
    if (!quarters.includes(today)) quarters.push(today);
    quarters.sort();
    const chosen = v.period || quarters[0];
    period.append(...quarters.map((q) => option(q, q, q === chosen)));
    bar.setAttribute("data-state", "ok");
  }).catch(() => bar.setAttribute("data-state", "error"));
  const change = () => {
    const [level, ...rest] = entity.value.split(":");
    view = { level, id: rest.join(":"), period: period.value || null };
    rerender();
  };
  entity.addEventListener("change", change);
  period.addEventListener("change", change);
  return bar;
}

// The headline a leader asks first: the period's P50 and range, booked so
// far, the forecast's and the latest call's change over the last week.
function headline() {
  const node = el("p", { class: "headline", "data-state": "loading" }, "…");
  const q = ownEntity() + periodQuery();
  Promise.all([
    json("/v1/forecasts?" + q + "&limit=50"),
    json("/v1/changes?" + (current().level === "company" ? "" : "level=" + current().level + "&id=" +
      encodeURIComponent(current().id) + "&") + "from=" + daysAgo(7) + "&to=" + daysAgo(0) +
      (current().period ? "&period=" + encodeURIComponent(current().period) : "")).catch(() => null),
  ]).then(([f, c]) => {
    const rows = f.forecasts.filter((r) => r.period.includes("Q"));
    const row = rows.find((r) => !current().period || r.period === current().period) || rows[0];
    if (!row) throw new Error("no forecast of a quarter for this entity");
    const parts = [
      el("strong", {}, row.period + ": P50 " + money(row.p50)),
      " (P10 " + money(row.p10) + " – P90 " + money(row.p90) + "), booked " + money(row.booked_to_date),
    ];
    if (row.quota) {
      parts.push(" · quota " + money(row.quota) + ", ");
      parts.push(el("strong", {}, "P(hit quota) " + pct(row.p_hit_quota)));
    }
    if (c && c.forecast && c.forecast.p50_change !== null && c.forecast.p50_change !== undefined) {
      parts.push(" · forecast " + signed(money(c.forecast.p50_change), Number(c.forecast.p50_change)) + " this week");
    }
    if (c && c.calls && c.calls.to) {
      const change = c.calls.commit_change;
      parts.push(" · call " + money(c.calls.to.commit) +
        (change !== null && Number(change) !== 0 ? " (" + signed(money(change), Number(change)) + " this week)" : ""));
    } else if (c && c.calls && c.calls.person_id) {
      parts.push(" · no call this week");
    }
    node.replaceChildren(...parts);
    node.setAttribute("data-state", "ok");
  }).catch((e) => {
    node.replaceChildren(el("span", { class: "error" }, e.message));
    node.setAttribute("data-state", "error");
  });
  return node;
}

// The roll-up of calls under the person looked at (or the head of the
// organisation), beside the model.
function callsTable(caption) {
  const person = viewPerson();
  const q = (person ? "id=" + encodeURIComponent(person) : "") + periodQuery();
  return table(caption, [
    { label: "Person", value: (r) => r.name },
    { label: "Commit", num: true, value: (r) => (r.called ? money(r.commit) : "not called") },
    { label: "Best case", num: true, value: (r) => (r.best_case ? money(r.best_case) : "-") },
    { label: "Reports' calls", num: true, value: (r) => (r.reports_commit ? money(r.reports_commit) : "-") },
    { label: "Adjustment", num: true, value: (r) => (r.adjustment ? signed(money(r.adjustment), Number(r.adjustment)) : "-") },
    { label: "Model P10-P90", num: true, value: (r) => (r.model ? money(r.model.p10) + " – " + money(r.model.p90) : "-") },
    { label: "Booked", num: true, value: (r) => (r.booked_to_date ? money(r.booked_to_date) : "-") },
  ], () => json("/v1/calls" + (q ? "?" + q.replace(/^&/, "") : "")).then((p) => p.calls.slice(0, 60)));
}

function accuracyTable() {
  return table("Whose calls to trust (finished quarters)", [
    { label: "Person", value: (r) => r.person_id },
    { label: "Quarters", num: true, value: (r) => r.periods },
    { label: "Call error", num: true, value: (r) => (r.call_mape === null ? "-" : pct(r.call_mape)) },
    { label: "Call bias", num: true, value: (r) => (r.call_bias === null ? "-" : signed(pct(r.call_bias), r.call_bias)) },
    { label: "Model error", num: true, value: (r) => (r.model_mape === null ? "-" : pct(r.model_mape)) },
    { label: "Inside model's P10-P90", num: true, value: (r) => (r.inside_model_band === null ? "-" : pct(r.inside_model_band)) },
  ], () => json("/v1/calls/accuracy" + (viewPerson() ? "?id=" + encodeURIComponent(viewPerson()) : ""))
    .then((p) => p.people.slice(0, 25)));
}

// What changed since a day, step by step.
function changesTable(caption, from) {
  const v = current();
  const q = (v.level === "company" ? "" : "level=" + v.level + "&id=" + encodeURIComponent(v.id) + "&") +
    (from ? "from=" + from + "&to=" + daysAgo(0) : "") + periodQuery();
  return table(caption, [
    { label: "Move", value: (s) => s.kind.replace(/_/g, " ") },
    { label: "Deals", num: true, value: (s) => s.deal_count },
    { label: "Amount", num: true, value: (s) => signed(money(s.amount), Number(s.amount)) },
    { label: "Largest", value: (s) => s.deals.slice(0, 3).join(" ") },
  ], () => json("/v1/changes?" + q.replace(/^&/, "")).then((c) => c.steps));
}

let callNotice = null;

// The call form: the person looked at (a manager their team, a rep their
// own), for the period picked; the team's calls and what changed since the
// last call beside it.
function callForm(rerender) {
  const person = viewPerson();
  if (!person) return el("p", {}, "Pick a team or a rep to call their number.");
  const v = current();
  const field = (name, label, type) => el("label", {}, label + " ",
    el("input", { name, id: "call-" + name, type: type || "text", inputmode: type ? null : "decimal", size: "12" }));
  // What the last submission said survives the page being drawn again.
  const status = el("p", { id: "call-status", role: "status", class: callNotice ? callNotice.cls : null },
    callNotice ? callNotice.text : "");
  callNotice = null;
  const form = el("form", { id: "call-form", class: "call-form" },
    field("commit", "Commit"), field("best_case", "Best case"), field("note", "Note"),
    el("button", { type: "submit" }, "Submit call"), status);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const body = { person_id: person, period: v.period || quarterOf(isoDay(new Date())), commit: data.get("commit") };
    if (data.get("best_case")) body.best_case = data.get("best_case");
    if (data.get("note")) body.note = data.get("note");
    fetch("/v1/calls", {
      method: "POST",
      headers: { Authorization: "Bearer " + session.token, "Content-Type": "application/json" },
      body: JSON.stringify(body),
    }).then(async (r) => {
      const answer = await r.json().catch(() => ({}));
      if (!r.ok) throw new Error(answer.detail || r.status + " " + r.statusText);
      callNotice = { text: "called " + money(answer.commit) + " for " + answer.period, cls: "ok" };
      rerender();
    }).catch((e) => {
      status.textContent = e.message;
      status.className = "error";
    });
  });
  return el("div", {}, el("h2", {}, "My call for " + (v.period || quarterOf(isoDay(new Date())))), form);
}

// A POST with an optional JSON body; the answer's JSON, or an error with
// the problem's detail.
async function post(path, body) {
  const r = await fetch(path, {
    method: "POST",
    headers: { Authorization: "Bearer " + session.token, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const answer = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(answer.detail || r.status + " " + r.statusText);
  return answer;
}

// The quarter before the one holding today: the one a close usually is for.
function previousQuarter() {
  const today = new Date();
  const q = Math.floor(today.getUTCMonth() / 3) + 1;
  return q === 1 ? (today.getUTCFullYear() - 1) + "-Q4" : today.getUTCFullYear() + "-Q" + (q - 1);
}

// What the last action of the close said, kept across the page's redraw.
let closeNotice = null;

function notice(id) {
  const p = el("p", { id, role: "status", class: closeNotice ? closeNotice.cls : null },
    closeNotice ? closeNotice.text : "");
  closeNotice = null;
  return p;
}

// A button that runs `action`, then redraws with its message (or shows the
// error in `status`).
function actionButton(label, id, status, action, rerender) {
  const b = el("button", { type: "button", id }, label);
  b.addEventListener("click", () => {
    b.disabled = true;
    action().then((text) => { closeNotice = { text, cls: "ok" }; rerender(); })
      .catch((e) => { status.textContent = e.message; status.className = "error"; b.disabled = false; });
  });
  return b;
}

// The payroll file of a closed period, fetched with the token and offered
// as a download link.
function payrollLink(period, status) {
  const cell = el("span", {});
  const b = el("button", { type: "button", "data-payroll": period }, "payroll CSV");
  b.addEventListener("click", () => {
    api("/v1/commissions/export?period=" + encodeURIComponent(period), "text/csv")
      .then((r) => r.blob())
      .then((blob) => {
        const a = el("a", { href: URL.createObjectURL(blob), download: "payroll-" + period + ".csv",
          id: "payroll-" + period }, "payroll-" + period + ".csv");
        cell.replaceChildren(a);
      })
      .catch((e) => { status.textContent = e.message; status.className = "error"; });
  });
  cell.append(b);
  return cell;
}

// Finance: close a period, publish it, the payroll file, open disputes.
function closeSection(rerender) {
  const status = notice("close-status");
  const input = el("input", { id: "close-period", name: "period", size: "9", value: previousQuarter() });
  const form = el("form", { id: "close-form", class: "call-form" },
    el("label", {}, "Period ", input), el("button", { type: "submit" }, "Close period"), status);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    post("/v1/commissions/periods/" + encodeURIComponent(input.value.trim()) + "/close")
      .then((c) => {
        closeNotice = { text: "closed " + c.period + ": " + c.statements + " statements, " + money(c.total), cls: "ok" };
        rerender();
      })
      .catch((e) => { status.textContent = e.message; status.className = "error"; });
  });
  const closes = table("Closed periods", [
    { label: "Period", value: (c) => c.period },
    { label: "Statements", num: true, value: (c) => c.statements },
    { label: "Total", num: true, value: (c) => money(c.total) },
    { label: "Closed", value: (c) => c.closed_at.slice(0, 10) + " by " + c.closed_by },
    { label: "Published", value: (c) => c.published_at
      ? c.published_at.slice(0, 10) + " by " + c.published_by
      : actionButton("Publish", "publish-" + c.period, status,
        () => post("/v1/commissions/periods/" + encodeURIComponent(c.period) + "/publish")
          .then((p) => "published " + p.period), rerender) },
    { label: "Payroll", value: (c) => payrollLink(c.period, status) },
  ], () => json("/v1/commissions/periods").then((r) => r.closes.slice().reverse()));
  const disputes = table("Open disputes", [
    { label: "#", num: true, value: (d) => d.dispute_id },
    { label: "Rep", value: (d) => d.rep_id },
    { label: "Period", value: (d) => d.period },
    { label: "Reason", value: (d) => d.reason },
    { label: "Resolve", value: (d) => resolveForm(d, status, rerender) },
  ], () => json("/v1/commissions/disputes?state=open").then((r) => r.disputes));
  return el("div", {}, el("h2", {}, "The close: statements finance pays"), form, closes, disputes);
}

function resolveForm(d, status, rerender) {
  const note = el("input", { id: "resolve-note-" + d.dispute_id, size: "24", placeholder: "resolution" });
  const amount = el("input", { id: "resolve-amount-" + d.dispute_id, size: "8", placeholder: "amount", inputmode: "decimal" });
  const button = actionButton("Resolve", "resolve-" + d.dispute_id, status, () => {
    const body = { note: note.value };
    if (amount.value.trim()) body.amount = amount.value.trim();
    return post("/v1/commissions/disputes/" + d.dispute_id + "/resolve", body)
      .then((r) => "dispute #" + r.dispute_id + " resolved");
  }, rerender);
  return el("span", {}, note, " ", amount, " ", button);
}

// A rep: their closed and published statements, a dispute button on each,
// and their disputes' outcome.
function myStatements(rerender) {
  const status = notice("dispute-status");
  const me = session.scope;
  // Each published statement, with the open dispute of it if there is one.
  const load = () => Promise.all([json("/v1/commissions/periods"), json("/v1/commissions/disputes?state=open")])
    .then(([r, open]) => Promise.all(r.closes.slice().reverse().map((c) =>
      json("/v1/commissions/statements/" + encodeURIComponent(me) + "?period=" + encodeURIComponent(c.period))
        .then((s) => ({ period: c.period, total: s.total, status: s.status, lines: s.lines.length,
          open: open.disputes.find((d) => d.period === c.period) }))
        .catch(() => null))))
    .then((rows) => rows.filter((r) => r !== null));
  const statements = table("My published statements", [
    { label: "Period", value: (s) => s.period },
    { label: "Pays", num: true, value: (s) => money(s.total) },
    { label: "Lines", num: true, value: (s) => s.lines },
    { label: "Dispute", value: (s) => {
      if (s.open) return "dispute #" + s.open.dispute_id + " open";
      const reason = el("input", { id: "dispute-reason-" + s.period, size: "28", placeholder: "what is wrong" });
      const button = actionButton("Dispute", "dispute-" + s.period, status, () =>
        post("/v1/commissions/statements/" + encodeURIComponent(me) + "/" + encodeURIComponent(s.period) + "/dispute",
          { reason: reason.value }).then((d) => "dispute #" + d.dispute_id + " opened for " + d.period), rerender);
      return el("span", {}, reason, " ", button);
    } },
  ], load);
  const disputes = table("My disputes", [
    { label: "#", num: true, value: (d) => d.dispute_id },
    { label: "Period", value: (d) => d.period },
    { label: "Reason", value: (d) => d.reason },
    { label: "State", value: (d) => d.state },
    { label: "Outcome", value: (d) => d.resolution || "-" },
  ], () => json("/v1/commissions/disputes").then((r) => r.disputes));
  return el("div", {}, el("h2", {}, "My statements"), status, statements, disputes);
}

// ---- Planning: quotas, a candidate comp plan, territories ----

// An SVG drawn here from numbers, shown like the server's charts (an <img>
// from a blob URL), so it carries the same data-chart and data-state.
function svgFigure(name, alt, svgText) {
  const figure = el("figure", { "data-chart": name, "data-state": "loading" });
  const img = el("img", { alt });
  img.addEventListener("load", () => figure.setAttribute("data-state", "ok"));
  img.addEventListener("error", () => figure.setAttribute("data-state", "error"));
  img.src = URL.createObjectURL(new Blob([svgText], { type: "image/svg+xml" }));
  figure.append(img);
  return figure;
}

// The SVG namespace, written so the script names no address of any host.
const SVG_NS = ["http:", "", "www.w3.org", "2000", "svg"].join("/");

function esc(text) {
  return String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

// Grouped bars: labels along the bottom, one bar per series in each group,
// counts on the left axis, a legend at the top.
function barsSvg(title, xTitle, labels, series) {
  const W = 720, H = 380, left = 56, right = 16, top = 56, bottom = 70;
  const max = Math.max(1, ...series.flatMap((s) => s.values));
  const step = Math.pow(10, Math.floor(Math.log10(max)));
  const tick = max / step > 5 ? step * 2 : max / step > 2 ? step : step / 2;
  const yMax = Math.ceil(max / tick) * tick;
  const plotW = W - left - right, plotH = H - top - bottom;
  const groupW = plotW / labels.length;
  const barW = Math.max(2, (groupW * 0.8) / series.length);
  const y = (v) => top + plotH - (v / yMax) * plotH;
  let out = `<svg xmlns="${SVG_NS}" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="DejaVu Sans, sans-serif" font-size="12">`;
  out += `<rect width="${W}" height="${H}" fill="#fff"/>`;
  out += `<text x="${left}" y="20" font-size="15" font-weight="bold">${esc(title)}</text>`;
  series.forEach((s, i) => {
    const x = left + i * 200;
    out += `<rect x="${x}" y="32" width="14" height="12" fill="${s.color}"/><text x="${x + 20}" y="43">${esc(s.name)}</text>`;
  });
  for (let v = 0; v <= yMax + 1e-9; v += tick) {
    out += `<line x1="${left}" x2="${W - right}" y1="${y(v)}" y2="${y(v)}" stroke="#dee2e6"/>`;
    out += `<text x="${left - 6}" y="${y(v) + 4}" text-anchor="end">${Number(v.toFixed(2))}</text>`;
  }
  const every = Math.ceil(labels.length / 10);
  labels.forEach((label, g) => {
    series.forEach((s, i) => {
      const v = s.values[g];
      const x = left + g * groupW + groupW * 0.1 + i * barW;
      out += `<rect x="${x}" y="${y(v)}" width="${barW - 1}" height="${top + plotH - y(v)}" fill="${s.color}"><title>${esc(s.name)}: ${v}</title></rect>`;
    });
    if (g % every === 0) {
      out += `<text x="${left + g * groupW + groupW / 2}" y="${top + plotH + 16}" text-anchor="middle">${esc(label)}</text>`;
    }
  });
  out += `<line x1="${left}" x2="${W - right}" y1="${top + plotH}" y2="${top + plotH}" stroke="#212529"/>`;
  out += `<text x="${left + plotW / 2}" y="${H - 18}" text-anchor="middle">${esc(xTitle)}</text>`;
  return out + "</svg>";
}

function quotaSection() {
  // Read through these (the form is not in the document on the first run).
  const periodInput = el("input", { id: "plan-period", size: 8, placeholder: "next quarter" });
  const targetInput = el("input", { id: "plan-target", size: 12, placeholder: "forecast mean" });
  const methodInput = el("select", { id: "plan-method" },
    ...["history", "capacity", "blend", "equal"].map((m) => el("option", { value: m }, m)));
  const fields = el("form", { class: "call-form", id: "plan-quotas" },
    el("label", {}, "Period ", periodInput),
    el("label", {}, "Target ", targetInput),
    el("label", {}, "Method ", methodInput),
    el("button", { type: "submit" }, "Propose quotas"));
  const out = el("div", { id: "plan-quota-result" });
  const run = () => {
    const body = { method: methodInput.value };
    const period = periodInput.value.trim();
    const target = targetInput.value.trim().replace(/,/g, "");
    if (period) body.period = period;
    if (target) body.target = target;
    const holder = el("p", { "data-state": "loading" }, "proposing…");
    out.replaceChildren(holder);
    post("/v1/plan/quotas", body).then((p) => {
      const bins = Array.from({ length: 10 }, () => [0, 0]);
      for (const r of p.reps) {
        bins[Math.min(9, Math.floor(r.p_attain * 10))][0] += 1;
        bins[Math.min(9, Math.floor(r.p_attain_equal * 10))][1] += 1;
      }
      const labels = bins.map((_, i) => i * 10 + "-" + (i + 1) * 10 + "%");
      const f = p.fairness, e = p.equal_quotas;
      const summary = el("p", { class: "summary", id: "plan-summary", "data-state": "ok" },
        `${p.period}: target ${money(p.target)} (${p.method}) against a forecast mean of ${money(p.forecast_mean)}; ` +
        `P(hit target) ${pct(p.p_hit_target)}. ${f.expected_at_quota.toFixed(1)} of ${p.reps.length} reps expected at quota ` +
        `(equal quotas: ${e.expected_at_quota.toFixed(1)}); spread of P(attain) ${f.sd.toFixed(3)} (equal quotas: ${e.sd.toFixed(3)}).`);
      const download = el("button", { type: "button", id: "plan-download" }, "Download quotas.csv");
      download.addEventListener("click", () => {
        fetch("/v1/plan/quotas", {
          method: "POST",
          headers: { Authorization: "Bearer " + session.token, "Content-Type": "application/json", Accept: "text/csv" },
          body: JSON.stringify(body),
        }).then((r) => r.blob()).then((b) => {
          const a = el("a", { href: URL.createObjectURL(b), download: "quotas.csv" });
          document.body.append(a);
          a.click();
          a.remove();
        });
      });
      const rows = p.reps.slice().sort((a, b) => a.p_attain - b.p_attain);
      out.replaceChildren(summary,
        el("div", { class: "grid" },
          svgFigure("plan-attain", "P(attain) across reps",
            barsSvg("Reps by chance of reaching quota", "P(attain) from the forecast's paths", labels, [
              { name: "this proposal", color: "#1f77b4", values: bins.map((b) => b[0]) },
              { name: "equal quotas", color: "#ff7f0e", values: bins.map((b) => b[1]) },
            ]))),
        download,
        table("Proposed quotas", [
          { label: "Rep", value: (r) => r.name || r.rep_id },
          { label: "Quota", num: true, value: (r) => money(r.quota) + (r.pinned ? " (pinned)" : "") },
          { label: "Run-rate / month", num: true, value: (r) => money(r.run_rate) },
          { label: "Forecast mean", num: true, value: (r) => money(r.forecast_mean) },
          { label: "P(attain)", num: true, value: (r) => pct(r.p_attain) },
          { label: "Equal quota P(attain)", num: true, value: (r) => pct(r.p_attain_equal) },
        ], () => Promise.resolve(rows)));
    }).catch((err) => {
      holder.setAttribute("data-state", "error");
      holder.className = "error";
      holder.textContent = err.message;
    });
  };
  fields.addEventListener("submit", (event) => { event.preventDefault(); run(); });
  run();
  return el("div", {}, el("h2", {}, "Quotas that add up and that reps can reach"), fields, out);
}

function compSection() {
  const text = el("textarea", { id: "plan-book", rows: 12, cols: 100, spellcheck: "false" });
  const button = el("button", { type: "button", id: "plan-cost" }, "Cost this plan book");
  const out = el("div", { id: "plan-comp-result" });
  const run = () => {
    const holder = el("p", { "data-state": "loading" }, "costing…");
    out.replaceChildren(holder);
    post("/v1/plan/comp", { plans: text.value }).then((s) => {
      const side = (k) => s[k];
      const dist = (k, name, color) => svgFigure("plan-cost-" + k, "total payout over the paths, " + name,
        barsSvg("Total payout over the forecast's paths: " + name,
          "total payout (lower end of each range; P10-P90 " + money(side(k).p10) + " - " + money(side(k).p90) + ")",
          side(k).distribution.map((b) => money(b.from)),
          [{ name: "paths", color, values: side(k).distribution.map((b) => b.paths) }]));
      const rows = [
        ["Expected cost", (k) => money(side(k).mean)],
        ["P10 - P90", (k) => money(side(k).p10) + " - " + money(side(k).p90)],
        ["Cost of sales", (k) => pct(side(k).cost_of_sales)],
        ["People paid", (k) => side(k).reps_paid],
        ["At or above quota", (k) => pct(side(k).at_or_above_quota)],
      ];
      out.replaceChildren(
        el("p", { class: "summary", "data-state": "ok", id: "plan-comp-summary" },
          `${s.period}: the candidate costs ${money(s.candidate.mean)} against ${money(s.current.mean)} now (${Number(s.change) >= 0 ? "+" : ""}${money(s.change)}).`),
        el("div", { class: "grid" },
          dist("current", "current plans", "#7f7f7f"),
          dist("candidate", "candidate", "#2ca02c")),
        table("Current and candidate", [
          { label: "", value: (r) => r[0] },
          { label: "Current", num: true, value: (r) => r[1]("current") },
          { label: "Candidate", num: true, value: (r) => r[1]("candidate") },
        ], () => Promise.resolve(rows)),
        table("Whose pay moves most", [
          { label: "Person", value: (r) => r.name || r.rep_id },
          { label: "Plan now", value: (r) => r.current_plan || "-" },
          { label: "Candidate plan", value: (r) => r.candidate_plan || "-" },
          { label: "Now", num: true, value: (r) => money(r.current_mean) },
          { label: "Candidate", num: true, value: (r) => money(r.candidate_mean) },
          { label: "Change", num: true, value: (r) => money(r.change) },
        ], () => Promise.resolve(s.reps.slice(0, 10))));
    }).catch((err) => {
      holder.setAttribute("data-state", "error");
      holder.className = "error";
      holder.textContent = err.message;
    });
  };
  button.addEventListener("click", run);
  const loading = el("p", { "data-state": "loading" }, "reading the plan book…");
  out.replaceChildren(loading);
  api("/v1/plans", "application/toml").then((r) => r.text()).then((t) => {
    text.value = t;
    run();
  }).catch((err) => {
    loading.setAttribute("data-state", "error");
    loading.className = "error";
    loading.textContent = err.message;
  });
  return el("div", {}, el("h2", {}, "What would this plan cost?"),
    el("p", { class: "reasons" }, "Edit the plan book (comp_plans.toml) and cost it beside the current one over the same forecast paths. Nothing is stored."),
    text, el("div", {}, button), out);
}

function territorySection() {
  const holder = el("div", { "data-state": "loading" });
  json("/v1/plan/territories").then((t) => {
    const rows = t.territories.filter((x) => x.reps > 0);
    const labels = rows.map((x) => x.territory_id);
    // Last year's bookings put on the period's scale, beside its quota.
    const perPeriod = t.period.includes("Q") ? 4 : 12;
    holder.replaceChildren(
      el("p", { class: "reasons" },
        `Bookings in the year to ${t.as_of} per rep now seated; quota and forecast for ${t.period}. ` +
        `Spread of bookings per rep across territories: ${(100 * t.spread.bookings_per_rep_cv).toFixed(0)}% (coefficient of variation).`),
      el("div", { class: "grid" },
        svgFigure("plan-territories", "bookings per rep by territory",
          barsSvg("Per rep and " + (perPeriod === 4 ? "quarter" : "month") + ", by territory (thousands)", "territory", labels, [
            { name: "last year's bookings", color: "#1f77b4", values: rows.map((x) => Math.round(Number(x.bookings_per_rep || 0) / perPeriod / 1000)) },
            { name: t.period + " quota", color: "#9467bd", values: rows.map((x) => Math.round(Number(x.quota) / Math.max(1, x.reps) / 1000)) },
          ]))),
      table("Territory balance", [
        { label: "Territory", value: (x) => x.territory_id + (x.region ? " (" + x.region + ")" : "") },
        { label: "Reps", num: true, value: (x) => x.reps },
        { label: "Bookings, last year", num: true, value: (x) => money(x.bookings) },
        { label: "Pipeline", num: true, value: (x) => money(x.pipeline) },
        { label: "Quota", num: true, value: (x) => money(x.quota) },
        { label: "Forecast P50", num: true, value: (x) => money(x.forecast_p50) },
        { label: "Coverage", num: true, value: (x) => (x.coverage === null ? "-" : x.coverage.toFixed(2)) },
        { label: "Served", value: (x) => x.served },
      ], () => Promise.resolve(t.territories)));
    holder.setAttribute("data-state", "ok");
  }).catch((err) => {
    holder.setAttribute("data-state", "error");
    holder.replaceChildren(el("p", { class: "error" }, err.message));
  });
  return el("div", {}, el("h2", {}, "Are territories balanced?"), holder);
}

const PAGES = {
  leader: {
    title: "Leader",
    roles: ["admin", "leader"],
    build: (rerender) => [
      pickers(rerender),
      headline(),
      el("h2", {}, "Will we hit the number?"),
      el("div", { class: "grid" },
        chart("forecast", ownEntity(), "forecast fan"),
        chart("backtest", "", "backtest against baselines"),
        chart("attainment", ownEntity() + periodQuery(), "attainment distribution"),
        chart("waterfall", ownEntity() + periodQuery(), "what changed: pipeline, forecast and call"),
        chart("calibration", "", "win-probability reliability")),
      el("h2", {}, "Calls"),
      callsTable("Calls beside the model"),
      accuracyTable(),
      el("h2", {}, "Lists"),
      forecastTable("region"),
      coachingTable(current().level === "manager" ? "manager=" + encodeURIComponent(current().id) : ""),
    ],
  },
  manager: {
    title: "Manager",
    roles: ["admin", "leader", "manager"],
    build: (rerender) => [
      pickers(rerender),
      headline(),
      callForm(rerender),
      callsTable("My team's calls"),
      changesTable("What changed in the last week of data", null),
      el("h2", {}, "Whom do I coach first, and about what?"),
      el("div", { class: "grid" },
        chart("coaching", current().level === "manager" ? ownEntity() : "", "coaching quadrant"),
        chart("forecast", ownEntity(), "team forecast fan"),
        chart("attainment", ownEntity() + periodQuery(), "team attainment"),
        chart("waterfall", ownEntity() + periodQuery(), "what changed: pipeline, forecast and call")),
      coachingTable(current().level === "manager" ? "manager=" + encodeURIComponent(current().id) : ""),
      declineTable(),
    ],
  },
  finance: {
    title: "Finance",
    roles: ["admin", "finance"],
    build: (rerender) => [
      closeSection(rerender),
      el("h2", {}, "What will we pay out, and what should we accrue?"),
      el("div", { class: "grid" },
        chart("payouts", "level=manager", "payout range per team"),
        chart("payouts", "level=rep", "payout range per rep"),
        chart("forecast", "level=company", "company forecast fan")),
      payoutTable("manager", ""),
      payoutTable("company", ""),
    ],
  },
  planning: {
    title: "Planning",
    roles: ["admin", "leader", "finance"],
    build: () => [quotaSection(), compSection(), territorySection()],
  },
  rep: {
    title: "My numbers",
    roles: ["rep"],
    build: (rerender) => [
      headline(),
      callForm(rerender),
      el("h2", {}, "My forecast, payout and deals"),
      el("div", { class: "grid" },
        chart("forecast", ownEntity(), "my forecast fan"),
        chart("payouts", "level=rep", "my payout range"),
        chart("waterfall", ownEntity(), "my pipeline waterfall")),
      dealsTable(),
      myStatements(rerender),
    ],
  },
};

function pagesFor(role) {
  return Object.entries(PAGES).filter(([, p]) => p.roles.includes(role)).map(([k]) => k);
}

function show(key) {
  const page = document.getElementById("page");
  page.replaceChildren(...PAGES[key].build(() => show(key)));
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
