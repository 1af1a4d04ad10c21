// The cluster page's charts: each canvas[data-metric] shows that metric's series (one line per
// broker, or per topic when a topic is chosen) over the chosen range, from the metrics API. They
// redraw whenever the live status fragment updates (a broker reported) and when the range changes.
// window.streamplaneCharts exposes the Chart.js instances (the browser tests read their data).
(function () {
  "use strict";

  const COLOURS = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#ca8a04", "#db2777"];
  const charts = {};
  window.streamplaneCharts = charts;

  function humanBytes(value) {
    const units = ["B", "KB", "MB", "GB", "TB"];
    let index = 0;
    while (Math.abs(value) >= 1024 && index < units.length - 1) {
      value /= 1024;
      index += 1;
    }
    return value.toFixed(value < 10 && index > 0 ? 1 : 0) + " " + units[index];
  }

  function clock(milliseconds, spanSeconds) {
    const moment = new Date(milliseconds);
    const time = moment.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    return spanSeconds > 86400 ? moment.toLocaleDateString([], { month: "short", day: "numeric" }) + " " + time : time;
  }

  function makeChart(canvas) {
    const bytes = canvas.dataset.unit === "bytes";
    return new Chart(canvas, {
      type: "line",
      data: { datasets: [] },
      options: {
        animation: false,
        parsing: false,
        normalized: true,
        interaction: { mode: "nearest", intersect: false },
        elements: { point: { radius: 0 }, line: { borderWidth: 1.5 } },
        scales: {
          x: { type: "linear", ticks: { maxTicksLimit: 6, callback: (value) => clock(value, spanSeconds()) } },
          y: { beginAtZero: true, ticks: { callback: (value) => (bytes ? humanBytes(value) : value) } },
        },
        plugins: { legend: { position: "bottom", labels: { boxWidth: 10 } } },
      },
    });
  }

  function form() {
    return document.getElementById("metrics-range");
  }

  function spanSeconds() {
    return parseInt(form().elements.range.value, 10);
  }

  async function load(section, canvas) {
    const until = new Date();
    const since = new Date(until.getTime() - spanSeconds() * 1000);
    const params = new URLSearchParams({ metric: canvas.dataset.metric, since: since.toISOString(), until: until.toISOString() });
    const broker = form().elements.broker.value;
    const topic = form().elements.topic.value.trim();
    if (broker) params.set("broker", broker);
    if (topic) params.set("topic", topic);
    const response = await fetch(section.dataset.metricsUrl + "?" + params, { credentials: "same-origin" });
    if (!response.ok) return;
    const answer = await response.json();
    const chart = charts[canvas.dataset.metric] || (charts[canvas.dataset.metric] = makeChart(canvas));
    // Without a topic the API answers the brokers' own series and every topic's: keep the brokers'.
    const series = topic ? answer.series : answer.series.filter((s) => s.topic === "");
    chart.data.datasets = series.map((series, index) => ({
      label: series.topic ? series.topic + " @ broker " + series.broker : "broker " + series.broker,
      data: series.points.map(([at, value]) => ({ x: Date.parse(at), y: value })),
      borderColor: COLOURS[index % COLOURS.length],
      backgroundColor: COLOURS[index % COLOURS.length],
    }));
    chart.options.scales.x.min = since.getTime();
    chart.options.scales.x.max = until.getTime();
    chart.update();
    const resolution = answer.resolution_s ? "points are " + answer.resolution_s / 60 + "-minute means" : "raw points";
    document.getElementById("metrics-resolution").textContent = resolution;
  }

  function loadAll(section) {
    section.querySelectorAll("canvas[data-metric]").forEach((canvas) => load(section, canvas));
  }

  document.addEventListener("DOMContentLoaded", () => {
    const section = document.getElementById("metrics");
    if (!section || typeof Chart === "undefined") return;
    loadAll(section);
    form().addEventListener("change", () => loadAll(section));
    form().addEventListener("submit", (event) => {
      event.preventDefault();
      loadAll(section);
    });
    let pending = null;
    document.addEventListener("live:updated", () => {
      if (pending) return;
      pending = setTimeout(() => {
        pending = null;
        loadAll(section);
      }, 1000);
    });
  });
})();
