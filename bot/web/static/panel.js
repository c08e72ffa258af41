// The meeting side panel: the plan with its clocks, the leader's notes, the controls.
"use strict";
(async () => {
  const { t, api, el, events } = Dialogue;
  const state = await Dialogue.start();
  const view = document.getElementById("view");
  const chat = state.context.chat;
  let current = null;
  let loadedAt = 0;
  let notice = "";

  const minutes = (seconds) => Math.floor(seconds / 60);
  const elapsed = () => (Date.now() - loadedAt) / 1000;

  async function load() {
    const answer = await api(
      `/web/api/meeting/panel?chat=${encodeURIComponent(chat)}&lang=${state.lang}`,
    );
    if (answer.status === 403 || answer.status === 401) {
      view.replaceChildren(el("p", { role: "alert", id: "refused" }, t("web.refused")));
      return false;
    }
    show(answer.body);
    return true;
  }

  function show(body) {
    current = body;
    loadedAt = Date.now();
    render();
  }

  async function act(verb, fields = {}) {
    for (const button of view.querySelectorAll("button")) button.disabled = true;
    const answer = await api("/web/api/meeting/act", {
      json: { chat, lang: state.lang, verb, ...fields },
    });
    notice = answer.body?.error || t("web.saved");
    if (answer.body && answer.body.state) show(answer.body);
    else render();
  }

  function share() {
    const url = `${location.origin}/web/stage?lang=${state.lang}`;
    microsoftTeams.meeting.shareAppContentToStage((error) => {
      notice = error ? t("web.signin_failed") : t("web.shared");
      render();
    }, url);
  }

  function clock(used, planned, running) {
    const now = used + (running ? elapsed() : 0);
    return t("web.section_clock", { used: minutes(now), planned });
  }

  function render() {
    const body = current;
    const nodes = [el("h1", {}, t("web.panel_title"))];
    if (Dialogue.inHost) {
      nodes.push(el("button", { id: "share", class: "secondary", onclick: share }, t("web.share_stage")));
    }
    nodes.push(el("p", { id: "notice", role: "status" }, notice));
    if (!body || body.state === "none") {
      nodes.push(el("p", {}, t("web.no_session")));
      view.replaceChildren(...nodes);
      return;
    }
    nodes.push(
      el("section", { "aria-labelledby": "plan" },
        el("h2", { id: "plan" }, t("web.plan")),
        el("ol", {}, body.sections.map((s) =>
          el("li", { class: s.current ? "current" : "", "aria-current": s.current ? "step" : false },
            s.title, " — ",
            el("span", { class: "clock", "data-section": s.id },
              s.finished ? t("web.done") : clock(s.used_seconds, s.planned, s.current)),
          ))),
        el("div", {},
          body.can.next_section &&
            el("button", { id: "next-section", onclick: () => act("next_section", { stage: body.stage }) },
              t("web.next_section")),
          body.can.next_scenario &&
            el("button", { id: "next-scenario", onclick: () => act("next_scenario") }, t("web.start_scenario")),
        ),
      ),
    );
    const scenario = body.scenario;
    if (scenario) {
      const used = scenario.used_seconds + (body.wrapped ? 0 : elapsed());
      const over = !body.wrapped && used > scenario.suggested[1] * 60;
      nodes.push(
        el("section", { "aria-labelledby": "scenario" },
          el("h2", { id: "scenario" }, t("web.scenario", { number: scenario.number, title: scenario.title })),
          el("p", { class: "clock", id: "scenario-clock" }, t("web.scenario_clock", {
            used: minutes(used), low: scenario.suggested[0], high: scenario.suggested[1] })),
          over && el("p", { class: "warn", role: "alert", id: "overtime" }, t("web.overtime")),
          el("h3", {}, t("web.questions")),
          el("ol", {}, scenario.questions.map((q) =>
            el("li", {}, q.text,
              q.follow_ups.length > 0 && el("div", {}, el("strong", {}, t("web.follow_ups")),
                el("ul", { class: "follow-ups" }, q.follow_ups.map((f) => el("li", {}, f)))),
              q.points.length > 0 && el("div", {}, el("strong", {}, t("web.points")),
                el("ul", { class: "points" }, q.points.map((p) => el("li", {}, p))))))),
          body.can.wrap &&
            el("button", { id: "wrap", onclick: () => act("wrap", { scenario: scenario.id }) }, t("web.key_messages")),
        ),
      );
      nodes.push(
        el("section", { "aria-labelledby": "polls" },
          el("h2", { id: "polls" }, t("web.polls")),
          body.pack_polls.map((spec) => pollControls(scenario, spec))),
      );
    }
    view.replaceChildren(...nodes);
  }

  function pollControls(scenario, spec) {
    const poll = spec.poll;
    const items = [el("p", {}, el("strong", {}, spec.question))];
    if (!poll) {
      items.push(el("button", {
        class: "open-poll", "data-poll": spec.id,
        onclick: () => act("open_poll", { scenario: scenario.id, pack_poll: spec.id }),
      }, t("web.open_poll")));
    } else {
      items.push(el("p", { class: "voters", "data-voters": poll.voters }, t("poll.voters", { count: poll.voters })));
      if (poll.status === "open") {
        items.push(el("p", { class: "muted" }, t("web.poll_open")));
        items.push(el("button", {
          class: "close-poll", "data-poll": poll.id, onclick: () => act("close_poll", { poll: poll.id }),
        }, t("web.close_poll")));
      } else if (poll.results) {
        items.push(el("ul", {}, poll.results.map((r) => el("li", {}, t("web.poll_result", r)))));
      } else {
        items.push(el("p", {}, t("poll.too_few")));
      }
    }
    return el("div", { class: "poll" }, items);
  }

  if (await load()) {
    // The stage's stream says when anything changed (a vote by card included): look again.
    events(`stage:${chat}`, `/web/api/meeting/events?chat=${encodeURIComponent(chat)}&lang=${state.lang}`,
      () => load());
    setInterval(render, 15000);
  }
})();
