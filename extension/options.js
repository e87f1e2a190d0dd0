/* Papershelf options: backend address, pairing (code or one click), views. */
(function () {
  "use strict";
  const ext = globalThis.browser || globalThis.chrome;
  const DEFAULT_BACKEND = "http://127.0.0.1:27311";
  const $ = (id) => document.getElementById(id);

  const send = (msg) =>
    Promise.resolve(ext.runtime.sendMessage(msg)).catch((e) => ({ ok: false, error: e.message }));

  function setStatus(node, text, kind) {
    node.textContent = text;
    node.dataset.kind = kind || "";
  }

  // A refresh that answers after a newer action (e.g. Pair) must not overwrite its result.
  let generation = 0;

  async function refresh() {
    const mine = ++generation;
    const st = await send({ type: "status" });
    if (mine !== generation) return;
    if (!st || !st.connection) {
      setStatus($("status"), (st && st.error) || "The extension background did not answer.", "error");
      return;
    }
    const kinds = { connected: "ok", offline: "warn", unpaired: "warn" };
    const text = st.connection.state === "connected" ? `Paired and connected to ${st.backendUrl}.` : st.connection.message;
    setStatus($("status"), text, kinds[st.connection.state] || "error");
    $("unpair").disabled = !st.paired;
    const failed = (st.failed || []).length;
    $("outbox").textContent = st.outbox || failed
      ? `${st.outbox} save(s) waiting for the backend${failed ? `, ${failed} rejected (see the popup)` : ""}.`
      : "Nothing waiting.";
    $("flush").disabled = !st.outbox;
  }

  async function load() {
    const s = await ext.storage.local.get(["backendUrl", "views"]);
    $("backend-url").value = s.backendUrl || DEFAULT_BACKEND;
    const views = s.views || {};
    for (const box of document.querySelectorAll('input[name="view"]')) box.checked = views[box.value] !== false;
    await refresh();
  }

  $("pair-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const button = $("pair");
    generation += 1;
    button.disabled = true;
    setStatus($("status"), "Pairing…", "");
    let token = $("pairing-code").value.trim();
    if (!token) token = (await ext.storage.local.get("token")).token || "";
    const answer = await send({ type: "pair", backendUrl: $("backend-url").value, token });
    button.disabled = false;
    if (answer && answer.ok) {
      $("pairing-code").value = "";
      $("backend-url").value = answer.backendUrl;
      await refresh();
      setStatus($("status"), `Paired with Papershelf at ${answer.backendUrl}.`, "ok");
    } else {
      setStatus($("status"), (answer && answer.error) || "Pairing failed.", "error");
    }
  });

  $("unpair").addEventListener("click", async () => {
    generation += 1;
    await send({ type: "unpair" });
    await refresh();
  });

  let polling = null;
  $("pair-click").addEventListener("click", async () => {
    const box = $("pair-request");
    box.hidden = false;
    setStatus(box, "Asking Papershelf…", "");
    const answer = await send({ type: "pairStart", backendUrl: $("backend-url").value });
    if (!answer || !answer.ok) {
      setStatus(box, (answer && answer.error) || "Could not ask Papershelf.", "error");
      return;
    }
    box.textContent = "";
    box.append(`Approve the request with code `);
    const code = document.createElement("strong");
    code.className = "code";
    code.textContent = answer.code;
    box.append(code, " in the Papershelf library page (");
    const link = document.createElement("a");
    link.href = answer.libraryUrl;
    link.target = "_blank";
    link.rel = "noopener";
    link.textContent = "open it";
    box.append(link, "). Waiting…");
    box.dataset.kind = "";
    if (polling) clearInterval(polling);
    const started = Date.now();
    polling = setInterval(async () => {
      const r = await send({ type: "pairPoll" });
      if (r && r.status === "approved") {
        clearInterval(polling);
        setStatus(box, "Approved: paired.", "ok");
        await load();
      } else if (r && (r.status === "denied" || r.status === "none")) {
        clearInterval(polling);
        setStatus(box, "The request was denied.", "error");
      } else if (Date.now() - started > 5 * 60 * 1000) {
        clearInterval(polling);
        setStatus(box, "No answer within 5 minutes: try again.", "error");
      }
    }, 1500);
  });

  for (const box of document.querySelectorAll('input[name="view"]')) {
    box.addEventListener("change", async () => {
      const views = {};
      for (const b of document.querySelectorAll('input[name="view"]')) views[b.value] = b.checked;
      await ext.storage.local.set({ views });
    });
  }

  $("flush").addEventListener("click", async () => {
    $("flush").disabled = true;
    await send({ type: "flush" });
    await refresh();
  });

  load();
})();
