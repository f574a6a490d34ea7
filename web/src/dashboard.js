// The auditor dashboard's chart: where each region's laptops are (received, on the
// way, late, not yet sent), one stacked bar per region, laggards first. The numbers
// come from the page itself (a JSON block the server wrote from the same roll-up as
// the table), so the chart never disagrees with the table beside it and needs no
// request of its own. The table stays the accessible, printable form; the chart is
// for the eye.
import { BarController, BarElement, CategoryScale, Chart, Legend, LinearScale, Tooltip } from "chart.js";

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Legend, Tooltip);

const source = document.getElementById("chart-data");
const canvas = document.getElementById("chart");
if (source && canvas) {
  const data = JSON.parse(source.textContent);
  const number = new Intl.NumberFormat(document.documentElement.lang || "id");
  // A bar per region needs room for its name: the chart grows with the regions it shows.
  canvas.parentElement.style.height = `${Math.max(160, 26 * data.labels.length + 90)}px`;
  const chart = new Chart(canvas, {
    type: "bar",
    data: {
      labels: data.labels,
      datasets: data.series.map((s) => ({ label: s.label, data: s.values, backgroundColor: s.colour, borderWidth: 0 })),
    },
    options: {
      indexAxis: "y",
      maintainAspectRatio: false,
      animation: false, // an auditor's phone on a slow link: draw once, at once
      scales: {
        x: { stacked: true, ticks: { precision: 0, callback: (v) => number.format(v) } },
        y: { stacked: true, ticks: { autoSkip: false } },
      },
      plugins: {
        legend: { position: "top" },
        tooltip: { callbacks: { label: (c) => `${c.dataset.label}: ${number.format(c.parsed.x)}` } },
      },
    },
  });
  // What the chart holds after drawing, read back from the chart itself: the browser
  // tests compare it with the API's numbers.
  canvas.dataset.drawn = JSON.stringify(chart.data.datasets.map((d) => d.data));
}
