"""The Teams edge: routing, authentication, connectors, pacing, outbound, logs."""
