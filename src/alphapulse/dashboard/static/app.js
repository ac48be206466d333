// AlphaPulse dashboard: charts (plotly.js, served locally) and live updates (server-sent events).
"use strict";
window.AlphaPulse = {
  data(id) {
    return JSON.parse(document.getElementById(id).textContent);
  },
  layout(title, yfmt) {
    return {
      title: { text: title }, margin: { l: 60, r: 20, t: 40, b: 40 },
      yaxis: { tickformat: yfmt }, hovermode: "x unified",
    };
  },
  runCharts(equityId, drawdownId, dataId) {
    const c = this.data(dataId);
    const cfg = { responsive: true, displaylogo: false };
    Plotly.newPlot(equityId, [{ x: c.x, y: c.equity, name: "equity", type: "scatter" }],
      this.layout("Equity", ",.0f"), cfg);
    Plotly.newPlot(drawdownId, [{ x: c.x, y: c.drawdown, name: "drawdown", type: "scatter",
      fill: "tozeroy", line: { color: "#c0392b" } }], this.layout("Drawdown", ".1%"), cfg);
  },
  short(name) {  // a legend entry cut in the middle (a long one squeezes the plot): as charts.short
    return name.length > 40 ? `${name.slice(0, 28)}…${name.slice(-11)}` : name;
  },
  compareChart(chartId, dataId) {
    const curves = this.data(dataId);
    const traces = Object.entries(curves)
      .map(([name, c]) => ({ x: c.x, y: c.equity, name: this.short(name) }));
    Plotly.newPlot(chartId, traces, this.layout("Equity", ",.0f"),
      { responsive: true, displaylogo: false });
  },
  liveUpdates(url) {
    const source = new EventSource(url);
    source.onmessage = (ev) => {
      const msg = JSON.parse(ev.data);
      document.getElementById("live").innerHTML = msg.html;
      document.getElementById("session-status").textContent = msg.status;
      document.getElementById("session-steps").textContent = msg.steps;
      document.body.dataset.updates = String(Number(document.body.dataset.updates || 0) + 1);
      if (msg.status !== "running") source.close();
    };
  },
};
