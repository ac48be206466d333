"""The web dashboard served by ``alphapulse serve`` at ``/`` (``docs/dashboard.md``):
server-rendered Jinja2 pages, one small script of our own, plotly.js from the plotly
package and the swagger-ui assets from ``swagger-ui-bundle``; nothing from a network."""

from __future__ import annotations

from alphapulse.dashboard.app import install

__all__ = ["install"]
