// The unmodified freshdesk-api npm client (pinned in package-lock.json) against a running wadesk.
// Environment: WADESK_URL, WADESK_API_KEY, WADESK_TICKET_ID. Exits non-zero on the first mismatch.
"use strict";
const Freshdesk = require("freshdesk-api");

const base = process.env.WADESK_URL.replace(/\/$/, "");
const key = process.env.WADESK_API_KEY;
const ticketId = Number(process.env.WADESK_TICKET_ID);
const fd = new Freshdesk(base, key);

function call(method, ...args) {
  return new Promise((resolve, reject) =>
    fd[method](...args, (err, data) => (err ? reject(err) : resolve(data)))
  );
}

function check(cond, what) {
  if (!cond) {
    console.error(`freshdesk-api: FAILED: ${what}`);
    process.exit(1);
  }
  console.log(`freshdesk-api: ok: ${what}`);
}

async function main() {
  const stamp = Date.now() % 10000;
  const phone = `+1415556${String(stamp).padStart(4, "0")}`;
  const created = await call("createContact", { name: "Node Client", email: `node-${Date.now()}@example.com`, mobile: phone });
  check(Number.isInteger(created.id), "createContact returns an integer id");
  const again = await call("getContact", created.id);
  check(again.name === "Node Client" && again.mobile === phone, "getContact reads it back");
  const found = await call("listAllContacts", { mobile: phone });
  check(found.some((c) => c.id === created.id), "listAllContacts({mobile}) finds it");

  const tickets = await call("listAllTickets", {});
  check(tickets.some((t) => t.id === ticketId), "listAllTickets lists the WhatsApp ticket");
  const ticket = await call("getTicket", ticketId);
  check(ticket.source === 13, "getTicket: source 13 (WhatsApp)");
  const updated = await call("updateTicket", ticketId, { priority: 4 });
  check(updated.priority === 4, "updateTicket changes the priority");

  const probe = await fetch(`${base}/api/v2/tickets/${ticketId}/notes`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: "Basic " + Buffer.from(`${key}:X`).toString("base64") },
    body: "{}",
  });
  const probeText = await probe.text();
  if (probe.status === 404 && probeText.includes("No such resource")) {
    console.log("freshdesk-api: skipped: reply and notes (POST /tickets/{id}/reply|notes not available on this server)");
  } else {
    const note = await call("createNote", ticketId, { body: "Internal: checked by freshdesk-api", private: true });
    check(Number.isInteger(note.id), "createNote");
    const reply = await call("createReply", ticketId, { body: "Hello from freshdesk-api" });
    check(Number.isInteger(reply.id), "createReply");
  }
  console.log("freshdesk-api: all checks passed");
}

main().catch((e) => {
  console.error("freshdesk-api: FAILED:", e && (e.message || e), e && e.data ? JSON.stringify(e.data) : "");
  process.exit(1);
});
