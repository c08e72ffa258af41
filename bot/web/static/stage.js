// The meeting's shared stage: what everyone may see, updated by server-sent events.
"use strict";
(async () => {
  const { t, el, events } = Dialogue;
  const state = await Dialogue.start();
  const view = document.getElementById("view");
  const chat = state.context.chat;
  let current = null;
  let loadedAt = 0;
  window.stageUpdates = [];

  const minutes = (seconds) => Math.floor(seconds / 60);
  const elapsed = () => (Date.now() - loadedAt) / 1000;

  function render() {
    const body = current;
    const nodes = [];
    if (!body || body.state === "none") {
      view.replaceChildren(el("h1", {}, t("web.stage_title")), el("p", {}, t("web.waiting")));
      return;
    }
    if (body.section) {
      const used = body.section.used_seconds + (body.section.running ? elapsed() : 0);
      nodes.push(el("h1", {}, body.section.title, " ",
        el("span", { class: "clock muted", id: "section-clock" },
          t("web.section_clock", { used: minutes(used), planned: body.section.planned }))));
    } else if (body.state === "done") {
      nodes.push(el("h1", {}, t("web.concluded")));
    }
    // The poll and the key messages first: on a shared screen they are what the room reads.
    for (const poll of body.polls) {
      nodes.push(el("section", { class: "poll", "data-poll": poll.id, "data-voters": poll.voters },
        el("h2", {}, poll.question),
        el("p", { class: "voters" }, t("poll.voters", { count: poll.voters })),
        poll.results
          ? el("div", { class: "results" }, poll.results.map((r) =>
              el("div", { class: "result" }, el("div", {}, t("web.poll_result", r)),
                el("div", { class: "bar", style: `width:${Math.max(r.percent, 1)}%`, role: "presentation" }))))
          : el("p", { class: "muted hidden-results" }, t(poll.too_few ? "poll.too_few" : "poll.hidden"))));
    }
    const messages = body.key_messages.length ? body.key_messages : body.recap;
    if (messages.length) {
      nodes.push(el("section", { id: "key-messages" }, el("h2", {}, t("web.key_messages")),
        el("ul", {}, messages.map((m) => el("li", {}, m)))));
    }
    const scenario = body.scenario;
    if (scenario) {
      const used = scenario.used_seconds + (body.running ? elapsed() : 0);
      nodes.push(el("section", { id: "scenario" },
        el("h2", {}, t("web.scenario", { number: scenario.number, title: scenario.title })),
        el("p", { class: "clock muted" }, t("web.scenario_clock", {
          used: minutes(used), low: scenario.suggested[0], high: scenario.suggested[1] })),
        el("p", {}, scenario.introduction),
        scenario.text.map((p) => el("p", {}, p)),
        el("h3", {}, t("web.questions")),
        el("ol", {}, scenario.questions.map((q) => el("li", {}, q.text)))));
    } else if (body.state === "running") {
      nodes.push(el("p", { class: "muted" }, t("web.no_scenario")));
    }
    view.replaceChildren(...nodes);
  }

  events(`stage:${chat}`, `/web/api/meeting/events?chat=${encodeURIComponent(chat)}&lang=${state.lang}`,
    (body) => {
      current = body;
      loadedAt = Date.now();
      render();
      window.stageUpdates.push({ at: Date.now(), voters: body.polls.map((p) => p.voters) });
    });
  render();
  setInterval(render, 1000);
})();
