// Consumer group pages. Each canvas[data-lag-chart] charts that lag metric from the metrics API:
// on a group's page one line per topic plus the group's total (topic ""), on the groups page one
// line per group (its total). Charts and the [data-lag-refresh] fragments reload every few seconds,
// as lag is collected. window.streamplaneLagCharts holds the Chart.js instances by canvas id (the
// browser tests read their data).
(function () {
  "use strict";

  const REFRESH_MS = 5000;
  const COLOURS = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#ca8a04", "#db2777"];
  const charts = {};
  window.streamplaneLagCharts = charts;

  function spanSeconds() {
    return parseInt(document.getElementById("lag-range").elements.range.value, 10);
  }

  function clock(milliseconds) {
    const moment = new Date(milliseconds);
    const time = moment.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: spanSeconds() <= 900 ? "2-digit" : undefined });
    return spanSeconds() > 86400 ? moment.toLocaleDateString([], { month: "short", day: "numeric" }) + " " + time : time;
  }

  function makeChart(canvas) {
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
          x: { type: "linear", ticks: { maxTicksLimit: 6, callback: (value) => clock(value) } },
          y: { beginAtZero: true },
        },
        plugins: { legend: { position: "bottom", labels: { boxWidth: 10 } } },
      },
    });
  }

  function label(series, group) {
    if (group === undefined) return series.group;
    return series.topic ? series.topic : "all topics";
  }

  async function load(section, canvas) {
    const until = new Date();
    const since = new Date(until.getTime() - spanSeconds() * 1000);
    const group = section.dataset.group;
    const params = new URLSearchParams({ metric: canvas.dataset.lagChart, since: since.toISOString(), until: until.toISOString() });
    if (group !== undefined) params.set("group", group);
    const response = await fetch(section.dataset.metricsUrl + "?" + params, { credentials: "same-origin" });
    if (!response.ok) return;
    const answer = await response.json();
    // Without a group the API answers every group's series, per topic too: keep the totals.
    const series = answer.series.filter((s) => s.group && (group !== undefined || s.topic === ""));
    const chart = charts[canvas.id] || (charts[canvas.id] = makeChart(canvas));
    chart.data.datasets = series.map((s, index) => ({
      label: label(s, group),
      data: s.points.map(([at, value]) => ({ x: Date.parse(at), y: value })),
      borderColor: COLOURS[index % COLOURS.length],
      backgroundColor: COLOURS[index % COLOURS.length],
    }));
    chart.options.scales.x.min = since.getTime();
    chart.options.scales.x.max = until.getTime();
    chart.update();
  }

  async function refresh(element) {
    const response = await fetch(element.dataset.lagRefresh, { credentials: "same-origin" });
    if (response.ok) element.innerHTML = await response.text();
  }

  document.addEventListener("DOMContentLoaded", () => {
    const section = document.getElementById("lag-charts");
    const loadAll = () => {
      if (section && typeof Chart !== "undefined") {
        section.querySelectorAll("canvas[data-lag-chart]").forEach((canvas) => load(section, canvas));
      }
    };
    loadAll();
    document.getElementById("lag-range")?.addEventListener("change", loadAll);
    setInterval(() => {
      loadAll();
      document.querySelectorAll("[data-lag-refresh]").forEach(refresh);
    }, REFRESH_MS);
  });
})();
