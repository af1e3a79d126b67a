//! Billing model of WhatsApp traffic. Filled by issue 8; nothing here yet.
