#!/usr/bin/env python3
"""An unmodified pywa client (https://pypi.org/project/pywa/) against wa-sim.

pywa fixes its session's base URL to https://graph.facebook.com/v{api_version}; the only change is pointing that
HTTP session's base URL at the simulator after construction, exactly as the issue asks.

    pip install pywa
    cargo run -p wa-sim -- --listen 127.0.0.1:8090 &
    python3 crates/wa-sim/scripts/pywa_smoke.py            # or WA_SIM_URL=http://127.0.0.1:PORT ...

Exits 0 when text, reply, reaction, media (upload + image by id, document by link), mark-as-read and the typing
indicator all succeed and the simulator recorded each of them with the bearer token; exits 77 (skip) when pywa is
not installed.
"""
import json
import os
import sys
import urllib.request

try:
    import httpx
    from pywa import WhatsApp
except ImportError:
    print("pywa not installed: skipping (pip install pywa)")
    sys.exit(77)

SIM = os.environ.get("WA_SIM_URL", "http://127.0.0.1:8090").rstrip("/")
PHONE_ID = os.environ.get("WA_SIM_PHONE_NUMBER_ID", "106540352242922")
TOKEN = os.environ.get("WA_SIM_TOKEN", "sim-token")
TO = "16505551234"


def recorded():
    with urllib.request.urlopen(f"{SIM}/_sim/requests") as response:
        return json.load(response)


def main() -> int:
    urllib.request.urlopen(urllib.request.Request(f"{SIM}/_sim/requests", method="DELETE"))
    session = httpx.Client()
    wa = WhatsApp(phone_id=PHONE_ID, token=TOKEN, session=session, api_version="23.0")
    session.base_url = f"{SIM}/v23.0"  # the only difference from talking to Meta

    text = wa.send_message(to=TO, text="Hello from pywa")
    reply = wa.send_message(to=TO, text="a reply", reply_to_message_id=text.id)
    wa.send_reaction(to=TO, emoji="\N{THUMBS UP SIGN}", message_id=text.id)
    image = wa.send_image(to=TO, image=b"\x89PNG fake image bytes", mime_type="image/png", caption="pic")
    wa.send_document(to=TO, document="https://example.com/invoice.pdf", filename="invoice.pdf")
    wa.mark_message_as_read(message_id="wamid.INBOUND")
    wa.indicate_typing(message_id="wamid.INBOUND")

    requests = recorded()
    paths = [(r["method"], r["path"].split("/", 3)[-1], r["response_status"]) for r in requests]
    for p in paths:
        print(p)
    assert all(r["authorization"] == f"Bearer {TOKEN}" for r in requests), "bearer token on every call"
    assert all(r["response_status"] == 200 for r in requests), "every call accepted"
    bodies = [r["json"] for r in requests if r["path"].endswith("/messages")]
    types = [b.get("type") or ("typing" if "typing_indicator" in b else b.get("status")) for b in bodies]
    assert types == ["text", "text", "reaction", "image", "document", "read", "typing"], types
    assert bodies[1]["context"]["message_id"] == text.id
    assert any(r["path"].endswith("/media") for r in requests), "the image was uploaded"
    assert reply.id.startswith("wamid.") and image.id.startswith("wamid.")
    print("pywa against wa-sim: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
