"""A stand-in for the Teams client around a tab: TeamsJS 2.x's postMessage protocol, on loopback.

:class:`TeamsHost` serves ``/host?…``: a page that loads the app's page in an iframe and answers
what TeamsJS asks its host (``initialize``, ``getContext``, ``authentication.getAuthToken``,
``meeting.shareAppContentToStage``) with messages shaped ``{id, uuid, args}`` as
``MicrosoftTeams.js`` reads them. The token comes from ``GET /token`` here, minted by a
:class:`~testing.openid.TokenFactory` whose key the app's SSO check fetches from the local
:class:`~testing.openid.OpenIdServer`; ``token_for`` can be replaced to hand out forgeries.
The page records the stage shares in ``window.stageShares`` for the test to read.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from testing.openid import TokenFactory

# The runtime a Teams meeting client announces (apiVersion 4 is TeamsJS 2.58's latest).
RUNTIME = {
    "apiVersion": 4,
    "supports": {
        "appInitialization": {},
        "authentication": {},
        "meeting": {"stage": {}},
        "pages": {"appButton": {}, "tabs": {}, "config": {}, "backStack": {}, "fullTrust": {}},
        "teamsCore": {},
    },
}

_HOST_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Teams host stand-in</title>
<style>body{margin:0}iframe{border:0;width:100vw;height:100vh;display:block}</style></head>
<body><iframe id="app" title="app"></iframe>
<script id="config" type="application/json">__CONFIG__</script>
<script>
"use strict";
const cfg = JSON.parse(document.getElementById("config").textContent);
const frame = document.getElementById("app");
const appOrigin = new URL(cfg.src).origin;
window.stageShares = [];
window.hostCalls = [];
function context() {
  // The legacy (v1) context TeamsJS turns into app.getContext()'s shape.
  return {
    frameContext: cfg.frame, theme: cfg.theme, locale: cfg.locale, userObjectId: cfg.oid,
    tid: cfg.tenant, chatId: cfg.chat, meetingId: cfg.meeting, hostClientType: "web",
    hostName: "Teams", appSessionId: "local-session", sessionId: "local-host",
    loginHint: cfg.oid + "@example.org", userPrincipalName: cfg.oid + "@example.org",
  };
}
async function answer(msg) {
  switch (msg.func) {
    case "initialize":
      return [cfg.frame, "web", JSON.stringify(cfg.runtime), "2.58.0"];
    case "getContext":
      return [context()];
    case "authentication.getAuthToken": {
      const got = await fetch("/token?" + new URLSearchParams({oid: cfg.oid, name: cfg.name}));
      if (!got.ok) return [false, "resourceDisabled"];
      return [true, (await got.json()).token];
    }
    case "meeting.shareAppContentToStage":
      window.stageShares.push(msg.args[0]);
      return [null, true];
    default:
      return [];
  }
}
window.addEventListener("message", async (evt) => {
  if (evt.source !== frame.contentWindow || evt.origin !== appOrigin) return;
  const msg = evt.data;
  if (!msg || typeof msg.func !== "string" || typeof msg.id !== "number") return;
  window.hostCalls.push(msg.func);
  const args = await answer(msg);
  frame.contentWindow.postMessage({id: msg.id, uuid: msg.uuid, args}, appOrigin);
});
frame.src = cfg.src;
</script></body></html>
"""


@dataclass(frozen=True)
class Viewer:
    """Who the host says is looking, and how their Teams is set up."""

    oid: str
    name: str
    tenant: str
    locale: str = "en-US"
    theme: str = "default"


class TeamsHost:
    """The Teams client stand-in, served on 127.0.0.1 from the test's own event loop."""

    def __init__(self, tokens: TokenFactory, audience: str) -> None:
        self._tokens = tokens
        self._audience = audience
        self._runner: web.AppRunner | None = None
        self.url = ""
        self._tenants: dict[str, str] = {}
        #: (oid, name) -> the token getAuthToken returns; replace it to hand out forgeries.
        self.token_for: Callable[[str, str], str | None] = self.good_token

    def good_token(self, oid: str, name: str) -> str:
        """A valid SSO token for this person, in the tenant the host page announced."""
        return self._tokens.sso(oid, self._tenants.get(oid, ""), self._audience, name)

    async def start(self) -> TeamsHost:
        """Listen on a free loopback port."""
        app = web.Application()
        app.router.add_get("/host", self._host)
        app.router.add_get("/token", self._token)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"
        return self

    async def stop(self) -> None:
        """Stop serving."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def page(
        self, src: str, viewer: Viewer, *, frame: str, chat: str = "", meeting: str = ""
    ) -> str:
        """The host page URL showing `src` to this viewer in this frame context."""
        self._tenants[viewer.oid] = viewer.tenant
        query = {
            "src": src,
            "frame": frame,
            "oid": viewer.oid,
            "name": viewer.name,
            "tenant": viewer.tenant,
            "locale": viewer.locale,
            "theme": viewer.theme,
            "chat": chat,
            "meeting": meeting or (f"MCM{chat}" if chat else ""),
        }
        return f"{self.url}/host?{urlencode(query)}"

    async def _host(self, request: web.Request) -> web.Response:
        config: dict[str, Any] = dict(request.query)
        config["runtime"] = RUNTIME
        # Inside a <script> block: keep "</" out of the JSON so no value can close it.
        raw = json.dumps(config).replace("</", "<\\/")
        return web.Response(text=_HOST_PAGE.replace("__CONFIG__", raw), content_type="text/html")

    async def _token(self, request: web.Request) -> web.Response:
        token = self.token_for(request.query.get("oid", ""), request.query.get("name", ""))
        if token is None:
            raise web.HTTPForbidden()
        return web.json_response({"token": token})
