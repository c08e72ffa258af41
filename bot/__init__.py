"""The Teams edge of Dialogue Bot: HTTP app, Bot Framework adapter, routing and views."""
