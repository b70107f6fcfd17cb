// l1kweb search pages: gene autocomplete, volcano plots (local plotly.min.js),
// click-to-highlight and sortable result tables. No framework, no CDN.
(function () {
  "use strict";

  // --- Autocomplete over /api/genes/?q= -----------------------------------
  const input = document.getElementById("gene-query");
  const list = document.getElementById("gene-suggestions");
  if (input && list) {
    let timer = null, seq = 0, active = -1;
    const geneUrl = (symbol) => input.dataset.geneUrl.replace("SYMBOL", encodeURIComponent(symbol));
    const close = () => { list.hidden = true; list.innerHTML = ""; active = -1; };
    const show = (results) => {
      list.innerHTML = "";
      results.forEach((g) => {
        const li = document.createElement("li");
        li.setAttribute("role", "option");
        li.dataset.symbol = g.symbol;
        li.className = "suggestion";
        const note = g.alias ? ` (${g.matched} ${g.alias})` : "";
        li.innerHTML = "<strong></strong> <span class='muted'></span>";
        li.querySelector("strong").textContent = g.symbol;
        li.querySelector("span").textContent = (g.name || "") + note;
        li.addEventListener("mousedown", (ev) => { ev.preventDefault(); window.location.href = geneUrl(g.symbol); });
        list.appendChild(li);
      });
      list.hidden = results.length === 0;
    };
    input.addEventListener("input", () => {
      clearTimeout(timer);
      const q = input.value.trim();
      if (!q) { close(); return; }
      timer = setTimeout(() => {
        const mine = ++seq;
        fetch(input.dataset.api + "?q=" + encodeURIComponent(q), { headers: { Accept: "application/json" } })
          .then((r) => (r.ok ? r.json() : { results: [] }))
          .then((data) => { if (mine === seq) show(data.results || []); })
          .catch(close);
      }, 120);
    });
    input.addEventListener("keydown", (ev) => {
      const items = list.querySelectorAll("li");
      if (!items.length) return;
      if (ev.key === "ArrowDown" || ev.key === "ArrowUp") {
        ev.preventDefault();
        active = (active + (ev.key === "ArrowDown" ? 1 : -1) + items.length) % items.length;
        items.forEach((li, i) => li.classList.toggle("active", i === active));
      } else if (ev.key === "Enter" && active >= 0) {
        ev.preventDefault();
        window.location.href = geneUrl(items[active].dataset.symbol);
      } else if (ev.key === "Escape") { close(); }
    });
    input.addEventListener("blur", () => setTimeout(close, 150));
  }

  // --- Volcano plots -------------------------------------------------------
  // A gene page's point carries its signature id (rows: data-sig); a signature page's
  // point carries [entrez id, symbol, CD, rank] (rows: data-gene, the Entrez id).
  const highlight = (key) => {
    const wanted = String(Array.isArray(key) ? key[0] : key);
    document.querySelectorAll("tr.highlight").forEach((tr) => tr.classList.remove("highlight"));
    document.querySelectorAll("tr[data-sig], tr[data-gene]").forEach((tr) => {
      if ((tr.dataset.sig !== undefined ? tr.dataset.sig : tr.dataset.gene) === wanted) {
        tr.classList.add("highlight");
        tr.scrollIntoView({ block: "nearest" });
      }
    });
  };
  const figures = document.getElementById("volcano-figures");
  if (figures && window.Plotly) {
    const all = JSON.parse(figures.textContent);
    Object.keys(all).forEach((id) => {
      const el = document.getElementById(id);
      if (!el) return;
      Plotly.newPlot(el, all[id].data, all[id].layout, { responsive: true, displaylogo: false }).then(() => {
        el.dataset.drawn = "1";
        el.on("plotly_click", (ev) => { if (ev.points && ev.points.length) highlight(ev.points[0].customdata); });
      });
    });
  }

  // --- Sortable tables (the rows on this page) -----------------------------
  document.querySelectorAll("table.sortable").forEach((table) => {
    table.querySelectorAll("th").forEach((th, col) => {
      th.tabIndex = 0;
      th.addEventListener("click", () => {
        const numeric = th.dataset.sort === "num";
        const asc = th.dataset.order !== "asc";
        table.querySelectorAll("th").forEach((h) => delete h.dataset.order);
        th.dataset.order = asc ? "asc" : "desc";
        const body = table.tBodies[0];
        const rows = Array.from(body.rows);
        const value = (tr) => {
          const td = tr.cells[col];
          const raw = td.dataset.value !== undefined ? td.dataset.value : td.textContent.trim();
          return numeric ? (raw === "" ? NaN : parseFloat(raw)) : raw.toLowerCase();
        };
        rows.sort((a, b) => {
          const x = value(a), y = value(b);
          if (numeric) { if (isNaN(x)) return 1; if (isNaN(y)) return -1; return asc ? x - y : y - x; }
          return asc ? x.localeCompare(y) : y.localeCompare(x);
        });
        rows.forEach((tr) => body.appendChild(tr));
      });
    });
  });
})();
