// The pages' common part: TeamsJS (or the --dev local sign-in), the token, strings, themes.
// No build step: plain script, loaded after teams-js.js.
"use strict";

const Dialogue = (() => {
  const meta = (name) => document.querySelector(`meta[name="${name}"]`)?.content || "";
  const query = new URLSearchParams(location.search);
  const inHost = window.parent !== window;
  const state = { token: "", context: null, strings: {}, lang: meta("dialogue-lang") || "en" };

  function applyTheme(theme) {
    const name = ["dark", "contrast"].includes(theme) ? theme : "default";
    document.documentElement.dataset.theme = name;
  }

  // --dev only: the loopback host stand-in (testing/teamshost.py) is trusted like Teams.
  function devOrigin(origin) {
    if (origin !== "loopback") return [origin];
    try {
      const parent = new URL(document.referrer);
      return ["127.0.0.1", "localhost"].includes(parent.hostname) ? [parent.origin] : [];
    } catch (_) {
      return [];
    }
  }

  async function signIn() {
    if (inHost) {
      const origins = meta("dialogue-origins").split(" ").filter(Boolean).flatMap(devOrigin);
      await microsoftTeams.app.initialize(origins.length ? origins : undefined);
      const context = await microsoftTeams.app.getContext();
      state.context = {
        frame: context.page?.frameContext || "",
        theme: context.app?.theme || "default",
        locale: context.app?.locale || "en",
        chat: context.chat?.id || "",
        meeting: context.meeting?.id || "",
      };
      microsoftTeams.app.registerOnThemeChangeHandler?.(applyTheme);
      state.token = await microsoftTeams.authentication.getAuthToken();
    } else if (meta("dialogue-dev")) {
      // Outside Teams, --dev only: the token the local sign-in page stored in this tab.
      state.context = {
        frame: query.get("frame") || "",
        theme: query.get("theme") || "default",
        locale: query.get("lang") || state.lang,
        chat: query.get("chat") || "",
        meeting: "",
      };
      state.token = sessionStorage.getItem("dialogue.devToken") || "";
      if (!state.token) location.href = "/web/dev/signin?lang=" + encodeURIComponent(state.lang);
    } else {
      throw new Error("not in Teams");
    }
    applyTheme(state.context.theme);
  }

  async function loadStrings(locale) {
    const answer = await fetch("/web/api/strings?lang=" + encodeURIComponent(locale));
    const body = await answer.json();
    state.lang = body.lang;
    state.strings = body.strings;
    document.documentElement.lang = body.lang;
  }

  function t(key, fields = {}) {
    let entry = state.strings[key];
    if (entry === undefined) return key;
    if (typeof entry === "object") {
      entry = fields.count === 1 && entry.one ? entry.one : entry.other;
    }
    return entry.replace(/\{(\w+)\}/g, (_, name) => (name in fields ? String(fields[name]) : ""));
  }

  async function api(path, options = {}) {
    const headers = { Authorization: "Bearer " + state.token, ...(options.headers || {}) };
    if (options.json !== undefined) headers["Content-Type"] = "application/json";
    const answer = await fetch(path, {
      method: options.method || (options.json !== undefined ? "POST" : "GET"),
      headers,
      body: options.json !== undefined ? JSON.stringify(options.json) : undefined,
    });
    const body = answer.headers.get("Content-Type")?.includes("json") ? await answer.json() : null;
    return { status: answer.status, body };
  }

  // Server-sent events: EventSource sends no header, so a one-minute ticket opens the stream;
  // when the stream drops (the ticket is spent), a new ticket reopens it.
  function events(stream, url, onData) {
    let source = null;
    async function open() {
      const answer = await api("/web/api/ticket?stream=" + encodeURIComponent(stream), {
        method: "POST",
      });
      if (answer.status !== 200) return;
      const sep = url.includes("?") ? "&" : "?";
      source = new EventSource(url + sep + "ticket=" + encodeURIComponent(answer.body.ticket));
      source.addEventListener("state", (event) => onData(JSON.parse(event.data)));
      source.onerror = () => {
        source.close();
        setTimeout(open, 1000);
      };
    }
    open();
    return () => source && source.close();
  }

  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs)) {
      if (value === false || value === null || value === undefined) continue;
      if (name === "onclick") node.addEventListener("click", value);
      else node.setAttribute(name, value === true ? "" : value);
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  async function start() {
    const status = document.getElementById("status");
    try {
      await signIn();
    } catch (error) {
      await loadStrings(state.lang);
      status.textContent = t("web.signin_failed");
      throw error;
    }
    await loadStrings(state.context.locale);
    document.title = t(meta("dialogue-title"));
    status.textContent = "";
    return state;
  }

  return { start, t, api, events, el, state, inHost, applyTheme };
})();
