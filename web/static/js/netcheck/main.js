// The network check page (templates/network_check.html): fetch the server's ICE servers with
// short-lived TURN credentials, try every path at once, show each result and the verdict, and
// list what IT must allow. The words come translated in the page's JSON block.

import { probe } from "./probe.js";
import { pathsOf, verdict } from "./verdict.js";

const config = JSON.parse(document.getElementById("netcheck-config").textContent);
const $ = (id) => document.getElementById(id);

const fill = (text, values) => text.replace(/\{(\w+)\}/g, (whole, key) => (key in values ? String(values[key]) : whole));

function cell(text) {
  const td = document.createElement("td");
  td.textContent = text;
  return td;
}

function showVerdict(which) {
  const node = $("netcheck-verdict");
  node.dataset.verdict = which;
  node.textContent = config.verdicts[which];
}

/** One row per path, in the order the server lists them; returns the result cells. */
function drawRows(paths) {
  const rows = $("netcheck-rows");
  rows.replaceChildren();
  return paths.map((path) => {
    const row = document.createElement("tr");
    row.dataset.kind = path.kind;
    const result = cell(config.states.checking);
    result.dataset.state = "checking";
    row.append(cell(config.paths[path.kind]), cell(`${path.host}:${path.port}`), result);
    rows.append(row);
    return result;
  });
}

function drawAllowList(paths) {
  const seen = new Set();
  const items = [];
  for (const path of paths) {
    const text = fill(config.allow[path.kind], { host: path.host, port: path.port });
    if (seen.has(text)) continue;
    seen.add(text);
    const li = document.createElement("li");
    li.textContent = text;
    items.push(li);
  }
  $("netcheck-allow").replaceChildren(...items);
}

async function check() {
  const again = $("netcheck-again");
  again.disabled = true;
  showVerdict("checking");
  try {
    const response = await fetch(config.servers_url, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error(`servers answered ${response.status}`);
    const { ice_servers: servers } = await response.json();
    const paths = pathsOf(servers);
    const cells = drawRows(paths);
    drawAllowList(paths);
    const results = await Promise.all(paths.map(async (path, index) => {
      const outcome = await probe(path);
      const node = cells[index];
      node.dataset.state = outcome.ok ? "works" : "blocked";
      node.textContent = config.states[node.dataset.state];
      if (outcome.candidate) {
        node.title = fill(config.candidate, { type: outcome.candidate.type, protocol: String(outcome.candidate.protocol).toUpperCase() });
      }
      return { kind: path.kind, ok: outcome.ok };
    }));
    showVerdict(verdict(results));
  } catch (error) {
    console.warn("junta: network check failed: %s", error);
    showVerdict("failed");
  } finally {
    again.disabled = false;
  }
}

$("netcheck-again").addEventListener("click", check);
check();
