"use strict";
(async () => {
  const { t, api, el } = Dialogue;
  await Dialogue.start();
  const me = await api("/web/api/me");
  const view = document.getElementById("view");
  if (me.status !== 200) {
    view.replaceChildren(el("p", { role: "alert" }, t("web.signin_failed")));
    return;
  }
  view.replaceChildren(el("h1", {}, document.title), el("p", { id: "me" }, me.body.name));
})();
