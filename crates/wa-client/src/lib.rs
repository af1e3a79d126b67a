//! # wa-client
//!
//! The WhatsApp Cloud API (Meta) side of wadesk, **inbound half**:
//!
//! * [`webhook`]: typed, lossless models of the webhook notifications Meta POSTs (the `messages` field in full:
//!   every message type, contexts, referrals, group messages, statuses with conversation and pricing, errors, the 2026
//!   business-scoped user ids; the other fields typed where cheap, raw otherwise) and [`webhook::parse_notification`].
//! * [`signature`]: `X-Hub-Signature-256` verification over the raw body, in constant time, and signing for tests.
//! * [`handshake`]: the `GET` subscription handshake (`hub.mode` / `hub.verify_token` / `hub.challenge`).
//!
//! What it is not: it has no HTTP client yet (sending messages, media download and the Graph API come later), no web
//! framework types in any signature (callers pass header values, query values and body bytes), and no I/O, clock or
//! storage of its own.
//!
//! Parsing never fails past the envelope and never loses data: see the [`webhook`] module docs for the exact
//! contract, including what happens to unknown types, unknown members and absurd timestamps.

pub mod handshake;
pub mod signature;
pub mod webhook;

pub use handshake::{HandshakeError, verify_subscription};
pub use signature::{SignatureError, sign, verify_signature};
pub use webhook::{Notification, WebhookParseError, parse_notification};

/// The README's example, compiled as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
#[derive(Debug)]
pub struct ReadmeDoctests;
