"""The unmodified python-freshdesk client (PyPI, pinned in .ci/run) against a running wadesk.

Environment: WADESK_URL (e.g. http://127.0.0.1:8080), WADESK_API_KEY, WADESK_TICKET_ID (a
WhatsApp ticket the caller created). python-freshdesk only talks to *.freshdesk.com domains, so
the API object is made for such a domain and its `_api_prefix` re-pointed at wadesk, as its
README suggests for testing. Exits non-zero on the first mismatch.
"""

import os
import sys
import time

import requests
from freshdesk.api import API
from freshdesk.v2.errors import FreshdeskNotFound

base = os.environ["WADESK_URL"].rstrip("/")
key = os.environ["WADESK_API_KEY"]
ticket_id = int(os.environ["WADESK_TICKET_ID"])

api = API("wadesk.freshdesk.com", key)
api._api_prefix = base + "/api/v2/"


def check(cond, what):
    if not cond:
        print("python-freshdesk: FAILED: " + what, file=sys.stderr)
        sys.exit(1)
    print("python-freshdesk: ok: " + what)


# Contacts: create, read back, find by phone.
phone = "+1415555%04d" % (int(time.time()) % 10000)
created = api.contacts.create_contact(name="Py Client", email="py-%d@example.com" % int(time.time()), phone=phone)
check(isinstance(created.id, int), "create_contact returns an integer id")
again = api.contacts.get_contact(created.id)
check(again.name == "Py Client" and again.phone == phone, "get_contact reads it back")
found = api.contacts.list_contacts(phone=phone)
check(any(c.id == created.id for c in found), "list_contacts(phone=...) finds it")

# Tickets: list, read, update.
tickets = api.tickets.list_tickets(filter_name=None)
check(any(t.id == ticket_id for t in tickets), "list_tickets lists the WhatsApp ticket")
ticket = api.tickets.get_ticket(ticket_id)
# Ticket.source maps codes to names and knows no 13; the raw value is `_source`.
check(ticket._source == 13, "get_ticket: source 13 (WhatsApp)")
updated = api.tickets.update_ticket(ticket_id, priority=3, status=3)
check(updated._priority == 3 and updated._status == 3, "update_ticket changes priority and status")
check(api.tickets.get_ticket(ticket_id)._priority == 3, "the update is kept")

# Replies and notes exist only once the replies/notes endpoints are built: probe first.
probe = requests.post(
    base + "/api/v2/tickets/%d/notes" % ticket_id, json={}, auth=(key, "X")
)
if probe.status_code == 404 and "No such resource" in probe.text:
    print("python-freshdesk: skipped: reply and notes (POST /tickets/{id}/reply|notes not available on this server)")
else:
    note = api.comments.create_note(ticket_id, "Internal: checked by python-freshdesk", private=True)
    check(isinstance(note.id, int), "create_note")
    reply = api.comments.create_reply(ticket_id, "Hello from python-freshdesk")
    check(isinstance(reply.id, int), "create_reply")
    bodies = [c.body_text for c in api.comments.list_comments(ticket_id)]
    check(any("python-freshdesk" in (b or "") for b in bodies), "list_comments shows them")

try:
    api.contacts.get_contact(999999999)
    check(False, "an unknown contact is 404")
except FreshdeskNotFound:
    check(True, "an unknown contact raises FreshdeskNotFound")
print("python-freshdesk: all checks passed")
