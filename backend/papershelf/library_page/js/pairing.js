// Pairing: approve or deny extensions asking to connect; list and revoke paired ones.
import { api } from "./api.js";
import { h, clear, relTime } from "./dom.js";
import { toast, errorToast, confirmDialog } from "./ui.js";

export class PairingView {
  /** hooks: {onCount(n)} */
  constructor(root, hooks) {
    this.root = root;
    this.hooks = hooks;
    this.requests = [];
    this.clients = [];
    this.seen = new Set();      // request ids already announced
    this.announced = new Map(); // request id -> toast
    this.visible = false;
    this.polling = false;
    this.pollAgain = false;
  }

  /** Poll pending requests (cheap); announce new ones with a one-click Approve toast. */
  async poll() {
    // One question at a time; one asked meanwhile is asked again once the answer is in, as
    // it may be about a request made after the first was sent.
    if (this.polling) { this.pollAgain = true; return; }
    this.polling = true;
    this.pollAgain = false;
    try {
      const data = await api.pairRequests();
      const reqs = data.requests || [];
      const ids = new Set(reqs.map((r) => r.request_id));
      const changed = reqs.length !== this.requests.length || reqs.some((r) => !this.requests.find((x) => x.request_id === r.request_id));
      this.requests = reqs;
      this.hooks.onCount && this.hooks.onCount(reqs.length);
      for (const [id, t] of this.announced) if (!ids.has(id)) { t.close(); this.announced.delete(id); }
      for (const r of reqs) {
        if (this.seen.has(r.request_id)) continue;
        this.seen.add(r.request_id);
        if (!this.visible) {
          const t = toast(`“${r.client || "An extension"}” wants to connect (code ${r.code})`, {
            ms: 120000,
            action: { label: "Approve", run: () => this.approve(r) },
          });
          this.announced.set(r.request_id, t);
        }
      }
      if (this.visible && changed) this.render();
    } catch { /* offline banner handles it */ } finally {
      this.polling = false;
      if (this.pollAgain) this.poll();
    }
  }

  async load() {
    try {
      const [reqs, clients] = await Promise.all([api.pairRequests(), api.clients()]);
      this.requests = reqs.requests || [];
      this.clients = clients.clients || [];
      for (const r of this.requests) this.seen.add(r.request_id);
      this.hooks.onCount && this.hooks.onCount(this.requests.length);
      this.render();
    } catch (e) { errorToast(e); }
  }

  async approve(r) {
    await api.approvePair(r.request_id);
    this.requests = this.requests.filter((x) => x.request_id !== r.request_id);
    this.hooks.onCount && this.hooks.onCount(this.requests.length);
    toast(`Paired “${r.client || "extension"}”`);
    const t = this.announced.get(r.request_id);
    if (t) { this.announced.delete(r.request_id); }
    if (this.visible) await this.load();
  }

  async deny(r) {
    await api.denyPair(r.request_id);
    this.requests = this.requests.filter((x) => x.request_id !== r.request_id);
    this.hooks.onCount && this.hooks.onCount(this.requests.length);
    toast(`Denied “${r.client || "extension"}”`);
    if (this.visible) this.render();
  }

  render() {
    const root = this.root;
    clear(root);
    const reqBox = h("div", { class: "pair-requests", id: "pair-requests" });
    if (!this.requests.length) {
      reqBox.appendChild(h("p", { class: "muted" }, "No extension is asking to connect right now. In the extension's popup, choose “Connect to Papershelf”; the request appears here with a 4-digit code."));
    }
    for (const r of this.requests) {
      const approve = h("button", { type: "button", class: "btn primary pair-approve" }, "Approve");
      const deny = h("button", { type: "button", class: "btn pair-deny" }, "Deny");
      approve.addEventListener("click", async () => { approve.disabled = deny.disabled = true; try { await this.approve(r); } catch (e) { approve.disabled = deny.disabled = false; errorToast(e); } });
      deny.addEventListener("click", async () => { approve.disabled = deny.disabled = true; try { await this.deny(r); } catch (e) { approve.disabled = deny.disabled = false; errorToast(e); } });
      reqBox.appendChild(h("div", { class: "pair-card", dataset: { id: r.request_id } },
        h("div", { class: "pair-code", title: "Check that the extension shows the same code" }, String(r.code || "")),
        h("div", { class: "pair-info" },
          h("strong", {}, r.client || "Unknown client"),
          h("span", { class: "muted" }, `asked ${relTime(r.created_at)}`)),
        h("span", { class: "spacer" }), deny, approve));
    }
    const body = h("tbody");
    for (const c of this.clients) {
      const revoke = h("button", { type: "button", class: "btn small ghost danger client-revoke" }, "Revoke");
      revoke.addEventListener("click", async () => {
        const ok = await confirmDialog("Revoke access", `“${c.client}” will no longer be able to save papers until it pairs again.`, { ok: "Revoke", danger: true });
        if (!ok) return;
        try { await api.revokeClient(c.id); toast(`Revoked “${c.client}”`); await this.load(); } catch (e) { errorToast(e); }
      });
      body.appendChild(h("tr", { dataset: { id: c.id } },
        h("td", {}, c.client || "Unknown client"),
        h("td", { title: c.created_at || "" }, relTime(c.created_at)),
        h("td", { title: c.last_seen || "" }, c.last_seen ? relTime(c.last_seen) : "never"),
        h("td", { class: "actions" }, revoke)));
    }
    if (!this.clients.length) body.appendChild(h("tr", {}, h("td", { colspan: "4", class: "muted" }, "No paired extensions yet.")));
    root.append(
      h("div", { class: "view-head" }, h("h1", {}, "Pairing"),
        h("p", { class: "muted" }, "Extensions need your approval before they can save papers to this library.")),
      h("section", { class: "panel" }, h("h2", {}, "Waiting for approval"), reqBox),
      h("section", { class: "panel" }, h("h2", {}, "Paired extensions"),
        h("table", { class: "table clients-table" },
          h("thead", {}, h("tr", {}, h("th", {}, "Client"), h("th", {}, "Paired"), h("th", {}, "Last seen"), h("th", {}, ""))),
          body)),
      h("section", { class: "panel muted-panel" }, h("h2", {}, "Pairing without approval"),
        h("p", {}, "Alternatively, run ", h("code", {}, "papershelf token"), " in a terminal and paste the token into the extension's options page.")));
  }
}
