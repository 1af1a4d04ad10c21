// Live parts of the console. An element with data-live-socket subscribes to that websocket; when the
// server says something changed, the element's fragment is fetched again from data-live-refresh
// (through the same access checks as the page). data-load fetches a fragment once on page load.
(function () {
  "use strict";

  async function refresh(element, url) {
    const response = await fetch(url, { headers: { "X-Requested-With": "fetch" }, credentials: "same-origin" });
    if (!response.ok) return;
    const openDetails = new Set(
      Array.from(element.querySelectorAll("details[open] summary")).map((s) => s.textContent.trim())
    );
    element.innerHTML = await response.text();
    element.querySelectorAll("details summary").forEach((summary) => {
      if (openDetails.has(summary.textContent.trim())) summary.parentElement.open = true;
    });
    element.dispatchEvent(new CustomEvent("live:updated", { bubbles: true }));
  }

  function subscribe(element) {
    const url = element.dataset.liveRefresh;
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    let pending = null;
    let delay = 500;

    function connect() {
      const socket = new WebSocket(scheme + "//" + location.host + element.dataset.liveSocket);
      socket.onopen = () => {
        delay = 500;
        document.body.dataset.live = "connected";
        refresh(element, url); // catch up on anything missed while disconnected
      };
      socket.onmessage = () => {
        // Bursts of changes (log lines, reports) become at most one fetch per 300 ms.
        if (pending) return;
        pending = setTimeout(() => {
          pending = null;
          refresh(element, url);
        }, 300);
      };
      socket.onclose = (event) => {
        document.body.dataset.live = "disconnected";
        if (event.code === 4403) return; // not allowed: do not retry
        setTimeout(connect, delay);
        delay = Math.min(delay * 2, 10000);
      };
    }
    connect();
  }

  function estimatePrice(form) {
    const prices = JSON.parse(document.getElementById("node-prices").textContent);
    const output = document.getElementById("price-estimate");
    const update = () => {
      const hourly = parseFloat(prices[form.elements.node_size.value] || "0");
      const nodes = (parseInt(form.elements.broker_count.value, 10) || 0) +
        (parseInt(form.elements.zookeeper_count.value, 10) || 0);
      output.textContent = "$" + (hourly * nodes).toFixed(4) + "/h · $" + (hourly * nodes * 730).toFixed(2) + "/month";
    };
    form.addEventListener("input", update);
    update();
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("[data-live-socket]").forEach(subscribe);
    document.querySelectorAll("[data-load]").forEach((element) => refresh(element, element.dataset.load));
    const form = document.getElementById("create-cluster");
    if (form) estimatePrice(form);
    // A control marked data-autosubmit submits its form when changed (no inline handlers: the
    // Content-Security-Policy allows no inline script).
    document.querySelectorAll("[data-autosubmit]").forEach((control) =>
      control.addEventListener("change", () => control.form.submit())
    );
  });
})();
