"""The web console: agents, managers and customers in the browser, served by the API process
above the API's own authentication and gateway (server-rendered, Chinese first)."""
