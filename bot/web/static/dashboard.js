// The dashboard tab: figures from /dashboard/data (a Teams SSO token), strings from the
// catalogs (/dashboard/strings), charts by Chart.js. Every text goes in with textContent.
(() => {
  "use strict";

  const params = new URLSearchParams(window.location.search);
  const $ = (id) => document.getElementById(id);
  const state = {
    lang: "en",
    strings: {},
    data: null,
    entity: params.get("entity") || "",
    sort: { key: "", dir: "ascending" },
    query: "",
    chart: null,
  };

  // Strings ------------------------------------------------------------------------------------

  function t(key, fields = {}) {
    let entry = state.strings[key];
    if (entry === undefined) return key;
    if (typeof entry === "object") {
      const form = new Intl.PluralRules(state.lang).select(Number(fields.count || 0));
      entry = entry[form] !== undefined ? entry[form] : entry.other;
    }
    return entry.replace(/\{(\w+)\}/g, (whole, name) =>
      name in fields ? (typeof fields[name] === "number" ? num(fields[name]) : String(fields[name])) : whole,
    );
  }

  function num(value) {
    return new Intl.NumberFormat(state.lang).format(value);
  }

  function percent(value) {
    return value === null || value === undefined ? t("dashboard.none") : `${num(value)}%`;
  }

  // Sign-in, strings, theme: the pages' shell (page.js: TeamsJS, or --dev's local sign-in) ---

  function setState(name, message) {
    document.documentElement.dataset.state = name;
    $("main").setAttribute("aria-busy", name === "loading" ? "true" : "false");
    if (message !== undefined) $("status").textContent = message;
  }

  async function loadData() {
    const query = new URLSearchParams({ lang: state.lang });
    if (state.entity) query.set("entity", state.entity);
    let answer;
    try {
      answer = await Dialogue.api(`/web/api/dashboard?${query}`);
    } catch (error) {
      showRetry();
      return;
    }
    if (answer.status === 401) {
      setState("signin", t("dashboard.signin_failed"));
    } else if (answer.status === 403) {
      $("content").hidden = true;
      setState("refused", t("dashboard.refused"));
    } else if (answer.status !== 200 || !answer.body) {
      showRetry();
    } else {
      state.data = answer.body;
      render();
      setState("ready", "");
      window.dashboardReadyAt = performance.now();
    }
  }

  function showRetry() {
    setState("error", t("dashboard.unavailable"));
    const retry = $("retry");
    retry.textContent = t("dashboard.retry");
    retry.hidden = false;
    retry.onclick = () => {
      retry.hidden = true;
      setState("loading", t("dashboard.loading"));
      loadData();
    };
  }

  // Rendering ---------------------------------------------------------------------------------

  function el(tag, text, attrs = {}) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
    return node;
  }

  function render() {
    const data = state.data;
    const organization = data.view === "organization";
    $("title").textContent = data.title;
    $("deadline").textContent = organization ? `${t("dashboard.col_deadline")}: ${data.deadline_text}` : data.deadline_text;
    $("privacy").hidden = !organization;
    $("privacy").textContent = organization ? `${data.summary} ${t("dashboard.privacy")}` : "";
    $("figures-heading").textContent = t("dashboard.title");
    renderSwitcher(data);
    renderTiles(data);
    $("chart-heading").textContent = t("dashboard.chart_heading");
    renderWeeks(data.weeks);
    $("rows-heading").textContent = organization ? t("dashboard.entities_heading") : t("dashboard.units_heading");
    $("search-label").textContent = organization ? t("dashboard.search_entities") : t("dashboard.search_units");
    $("sort-hint").textContent = t("dashboard.sort_hint");
    $("no-rows").textContent = t("dashboard.no_units");
    state.columns = organization ? entityColumns() : unitColumns();
    state.rows = organization ? data.rows : data.units;
    if (!state.columns.some((c) => c.key === state.sort.key)) state.sort = { key: "", dir: "ascending" };
    renderTable();
    $("cert-section").hidden = organization;
    if (!organization) {
      $("cert-heading").textContent = t("dashboard.certification_heading");
      const cert = $("cert");
      cert.textContent = data.certification.text;
      cert.className = `badge status-${data.certification.changed ? "changed" : data.certification.status}`;
    }
    $("exports-heading").textContent = t("dashboard.exports_heading");
    const list = $("exports");
    list.replaceChildren(
      ...data.exports.map((x) => {
        const item = el("li");
        item.append(el("a", x.label, { href: x.url, target: "_blank", rel: "noopener" }));
        return item;
      }),
    );
    $("export-help").textContent = t("dashboard.export_help");
    $("content").hidden = false;
    drawChart();
  }

  function renderSwitcher(data) {
    const entities = data.entities || [];
    const box = $("switcher");
    box.hidden = entities.length < 2;
    if (box.hidden) return;
    $("entity-label").textContent = t("dashboard.entity_label");
    const select = $("entity-select");
    select.replaceChildren(...entities.map((e) => el("option", `${e.code} – ${e.name}`, { value: e.code })));
    select.value = data.entity.code;
    select.onchange = () => {
      state.entity = select.value;
      setState("loading", t("dashboard.loading"));
      loadData();
    };
  }

  function tile(label, value, id) {
    const box = el("div", null, { class: "tile", "data-figure": id });
    box.append(el("dt", label), el("dd", value));
    return box;
  }

  function renderTiles(data) {
    const tiles = $("tiles");
    const totals = data.totals;
    if (data.view === "organization") {
      tiles.replaceChildren(
        tile(t("dashboard.sessions"), num(totals.sessions), "sessions"),
        tile(t("dashboard.participants"), num(totals.participants), "participants"),
        tile(t("dashboard.certified"), `${num(totals.certified)} / ${num(totals.entities)}`, "certified"),
      );
      $("open-sessions").hidden = true;
      return;
    }
    tiles.replaceChildren(
      tile(t("dashboard.sessions"), num(totals.sessions), "sessions"),
      tile(t("dashboard.participants"), num(totals.participants), "participants"),
      tile(t("dashboard.personnel"), num(totals.personnel), "personnel"),
      tile(t("dashboard.coverage_units"), percent(totals.coverage_percent), "coverage"),
      tile(
        t("dashboard.coverage_entity"),
        data.entity_personnel === null ? t("dashboard.not_recorded") : percent(data.entity_coverage_percent),
        "entity_coverage",
      ),
    );
    const open = $("open-sessions");
    open.hidden = !data.open_sessions;
    open.textContent = data.open_sessions ? t("dashboard.open_sessions", { count: data.open_sessions }) : "";
  }

  function renderWeeks(weeks) {
    $("weeks-summary").textContent = t("dashboard.weeks_table");
    $("chart-none").hidden = weeks.length > 0;
    $("chart-none").textContent = t("dashboard.chart_none");
    $("chart").hidden = weeks.length === 0;
    const table = $("weeks");
    const head = el("tr");
    for (const [key, cls] of [
      ["dashboard.col_week", ""],
      ["dashboard.col_sessions", "num"],
      ["dashboard.col_participants", "num"],
      ["dashboard.col_total_sessions", "num"],
      ["dashboard.col_total_participants", "num"],
    ]) {
      head.append(el("th", t(key), { scope: "col", class: cls }));
    }
    const body = weeks.map((w) => {
      const row = el("tr", null, { "data-week": w.week });
      row.append(
        el("td", w.monday_text),
        el("td", num(w.sessions), { class: "num" }),
        el("td", num(w.participants), { class: "num" }),
        el("td", num(w.total_sessions), { class: "num" }),
        el("td", num(w.total_participants), { class: "num" }),
      );
      return row;
    });
    table.replaceChildren(el("thead"), el("tbody"));
    table.tHead.append(head);
    table.tBodies[0].append(...body);
  }

  // The table: search and sort, client-side ------------------------------------------------

  function unitColumns() {
    return [
      { key: "unit", label: t("dashboard.col_unit"), type: "text", value: (r) => r.unit, search: true },
      { key: "sessions", label: t("dashboard.col_sessions"), type: "number", value: (r) => r.sessions },
      { key: "participants", label: t("dashboard.col_participants"), type: "number", value: (r) => r.participants },
      { key: "personnel", label: t("dashboard.col_personnel"), type: "number", value: (r) => r.personnel },
      { key: "coverage", label: t("dashboard.col_coverage"), type: "percent", value: (r) => r.coverage_percent },
      { key: "first_date", label: t("dashboard.col_first_date"), type: "date", value: (r) => r.first_date, show: (r) => r.first_date_text },
      {
        key: "note",
        label: t("dashboard.col_note"),
        type: "text",
        value: (r) => [r.note, r.several_leaders ? t("dashboard.several_leaders") : ""].filter(Boolean).join(" "),
      },
    ];
  }

  function entityColumns() {
    return [
      { key: "code", label: t("dashboard.col_entity"), type: "text", value: (r) => r.code, search: true },
      { key: "name", label: t("dashboard.col_name"), type: "text", value: (r) => r.name, search: true },
      { key: "sessions", label: t("dashboard.col_sessions"), type: "number", value: (r) => r.sessions },
      { key: "participants", label: t("dashboard.col_participants"), type: "number", value: (r) => r.participants },
      { key: "coverage", label: t("dashboard.col_unit_coverage"), type: "percent", value: (r) => r.coverage_percent },
      { key: "entity_coverage", label: t("dashboard.col_entity_coverage"), type: "percent", value: (r) => r.entity_coverage_percent },
      { key: "deadline", label: t("dashboard.col_deadline"), type: "date", value: (r) => r.deadline, show: (r) => r.deadline_text },
      { key: "status", label: t("dashboard.col_status"), type: "status", value: (r) => r.certification.text },
    ];
  }

  function fold(text) {
    return String(text || "").normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLocaleLowerCase();
  }

  function compare(a, b, column) {
    const x = column.value(a);
    const y = column.value(b);
    // Empty cells (no figure) sort last either way.
    if (x === null || x === undefined || x === "") return y === null || y === undefined || y === "" ? 0 : 1;
    if (y === null || y === undefined || y === "") return -1;
    const order = typeof x === "number" ? x - y : String(x).localeCompare(String(y), state.lang, { sensitivity: "base" });
    return state.sort.dir === "ascending" ? order : -order;
  }

  function cell(row, column) {
    const value = column.value(row);
    if (column.type === "number") return el("td", value === null || value === undefined ? t("dashboard.none") : num(value), { class: "num" });
    if (column.type === "percent") return el("td", percent(value), { class: "num" });
    if (column.type === "status") {
      const td = el("td");
      td.append(el("span", value, { class: `badge status-${row.certification.status}` }));
      return td;
    }
    return el("td", column.show ? column.show(row) : value);
  }

  function renderTable() {
    const table = $("rows");
    const columns = state.columns;
    const head = el("tr");
    for (const column of columns) {
      const numeric = column.type === "number" || column.type === "percent";
      const th = el("th", null, { scope: "col", class: numeric ? "num" : "", "data-key": column.key });
      th.setAttribute("aria-sort", state.sort.key === column.key ? state.sort.dir : "none");
      const button = el("button", column.label, { type: "button" });
      button.append(el("span", null, { class: "arrow", "aria-hidden": "true" }));
      button.addEventListener("click", () => sortBy(column.key));
      th.append(button);
      head.append(th);
    }
    table.replaceChildren(el("thead"), el("tbody"));
    table.tHead.append(head);
    fillRows();
    const search = $("search");
    search.value = state.query;
    search.oninput = () => {
      state.query = search.value;
      fillRows();
    };
  }

  function fillRows() {
    const columns = state.columns;
    const needle = fold(state.query.trim());
    let rows = state.rows.filter((r) => !needle || columns.some((c) => c.search && fold(c.value(r)).includes(needle)));
    const column = columns.find((c) => c.key === state.sort.key);
    if (column) rows = [...rows].sort((a, b) => compare(a, b, column));
    const body = $("rows").tBodies[0];
    body.replaceChildren(
      ...rows.map((r) => {
        const tr = el("tr", null, r.several_leaders ? { class: "warn" } : {});
        tr.append(...columns.map((c) => cell(r, c)));
        return tr;
      }),
    );
    $("no-rows").hidden = state.rows.length > 0;
    $("shown").textContent = t("dashboard.shown", { count: rows.length, total: state.rows.length });
  }

  function sortBy(key) {
    const dir = state.sort.key === key && state.sort.dir === "ascending" ? "descending" : "ascending";
    state.sort = { key, dir };
    for (const th of $("rows").tHead.rows[0].cells) {
      th.setAttribute("aria-sort", th.dataset.key === key ? dir : "none");
    }
    fillRows();
    const column = state.columns.find((c) => c.key === key);
    $("sort-status").textContent = t(`dashboard.sorted_${dir}`, { column: column.label });
  }

  // The chart ---------------------------------------------------------------------------------

  function cssVar(name) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  }

  function drawChart() {
    const data = state.data;
    if (!data || !window.Chart || data.weeks.length === 0) return;
    const weeks = data.weeks;
    const deadline = data.deadline;
    const deadlineIndex = weeks.findIndex((w, i) => w.monday <= deadline && (i === weeks.length - 1 || weeks[i + 1].monday > deadline));
    const text = cssVar("--text");
    const grid = cssVar("--grid");
    const past = weeks.filter((w) => !w.future);
    const last = past.length ? past[past.length - 1] : weeks[weeks.length - 1];
    const canvas = $("chart");
    canvas.setAttribute(
      "aria-label",
      t("dashboard.chart_summary", {
        date: last.monday_text,
        sessions: last.total_sessions,
        participants: last.total_participants,
        deadline: data.deadline_text,
      }),
    );
    // A dashed line at the deadline's week: the series is drawn "against the deadline".
    const deadlineLine = {
      id: "deadline",
      afterDatasetsDraw(chart) {
        if (deadlineIndex < 0) return;
        const x = chart.scales.x.getPixelForValue(deadlineIndex);
        const { top, bottom } = chart.chartArea;
        const ctx = chart.ctx;
        ctx.save();
        ctx.strokeStyle = cssVar("--attention");
        ctx.fillStyle = cssVar("--attention");
        ctx.setLineDash([6, 4]);
        ctx.lineWidth = 2;
        ctx.beginPath();
        ctx.moveTo(x, top);
        ctx.lineTo(x, bottom);
        ctx.stroke();
        ctx.setLineDash([]);
        ctx.textAlign = x > chart.chartArea.right - 60 ? "right" : "left";
        ctx.fillText(t("dashboard.chart_deadline"), x + (ctx.textAlign === "right" ? -4 : 4), top + 12);
        ctx.restore();
      },
    };
    const config = {
      type: "bar",
      data: {
        labels: weeks.map((w) => w.monday_text),
        datasets: [
          {
            type: "bar",
            label: t("dashboard.chart_sessions"),
            data: weeks.map((w) => w.sessions),
            backgroundColor: cssVar("--bar"),
            yAxisID: "y",
            order: 2,
          },
          {
            type: "line",
            label: t("dashboard.chart_participants"),
            data: weeks.map((w) => (w.future ? null : w.total_participants)),
            borderColor: cssVar("--line"),
            backgroundColor: cssVar("--line"),
            pointRadius: 3,
            tension: 0,
            yAxisID: "y1",
            order: 1,
          },
        ],
      },
      options: {
        animation: false,
        maintainAspectRatio: false,
        responsive: true,
        color: text,
        plugins: { legend: { labels: { color: text } }, tooltip: { enabled: true } },
        scales: {
          x: { ticks: { color: text, maxRotation: 0, autoSkip: true }, grid: { color: grid } },
          y: {
            beginAtZero: true,
            position: "left",
            ticks: { color: text, precision: 0 },
            grid: { color: grid },
            title: { display: true, text: t("dashboard.chart_sessions"), color: text },
          },
          y1: {
            beginAtZero: true,
            position: "right",
            ticks: { color: text, precision: 0 },
            grid: { drawOnChartArea: false },
            title: { display: true, text: t("dashboard.chart_participants"), color: text },
          },
        },
      },
      plugins: [deadlineLine],
    };
    if (state.chart) state.chart.destroy();
    state.chart = new window.Chart(canvas, config);
  }

  // Start -------------------------------------------------------------------------------------

  async function start() {
    try {
      await Dialogue.start();
    } catch (error) {
      setState("signin");
      return;
    }
    state.lang = Dialogue.state.lang;
    state.strings = Dialogue.state.strings;
    document.title = t("dashboard.title");
    // The shell follows Teams' theme changes on <html data-theme>: the chart's colours follow.
    new MutationObserver(drawChart).observe(document.documentElement, {
      attributes: true,
      attributeFilter: ["data-theme"],
    });
    setState("loading", t("dashboard.loading"));
    await loadData();
  }

  window.dashboard = { state, sortBy, t };
  start().catch(() => setState("error", t("dashboard.unavailable")));
})();
