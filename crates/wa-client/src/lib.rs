//! WhatsApp Cloud API: webhook model, signature verification, and (later) the Graph API client.
