// The tab's configuration page: Teams shows it once, when the tab is added to the meeting.
"use strict";
(async () => {
  const { t, el } = Dialogue;
  await Dialogue.start();
  document.getElementById("view").replaceChildren(el("h1", {}, t("web.panel_title")));
  microsoftTeams.pages.config.registerOnSaveHandler((save) => {
    microsoftTeams.pages.config
      .setConfig({
        entityId: "dialogue-meeting",
        contentUrl: `${location.origin}/web/panel`,
        suggestedDisplayName: t("web.panel_title"),
      })
      .then(() => save.notifySuccess(), (error) => save.notifyFailure(String(error)));
  });
  microsoftTeams.pages.config.setValidityState(true);
})();
