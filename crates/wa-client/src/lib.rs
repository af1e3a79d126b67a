//! # wa-client
//!
//! The WhatsApp Cloud API (Meta) side of wadesk:
//!
//! * [`webhook`]: typed, lossless models of the webhook notifications Meta POSTs (the `messages` field in full:
//!   every message type, contexts, referrals, group messages, statuses with conversation and pricing, errors, the 2026
//!   business-scoped user ids; the other fields typed where cheap, raw otherwise) and [`webhook::parse_notification`].
//! * [`signature`]: `X-Hub-Signature-256` verification over the raw body, in constant time, and signing for tests.
//! * [`handshake`]: the `GET` subscription handshake (`hub.mode` / `hub.verify_token` / `hub.challenge`).
//!
//! * [`graph`]: the outbound half, a Graph API client (reqwest): sending every message type wadesk needs, mark-as-read
//!   and typing, media upload/metadata/download, message templates, phone number onboarding and business profile,
//!   Meta's error object typed as [`graph::GraphError`] with a retry decision by error code, and transport failures
//!   split into "certainly not sent" and "outcome unknown".
//!
//! What it is not: no web framework types in any signature (callers pass header values, query values and body
//! bytes), no clock, storage, queue or retry loop of its own (the client says *whether* and *when* to retry; the
//! caller's job system does it). The only I/O is the HTTP client in [`graph`], which uses the `reqwest::Client` the
//! caller passes in. The `tls` cargo feature (default) enables rustls for `https://graph.facebook.com`.
//!
//! Parsing never fails past the envelope and never loses data: see the [`webhook`] module docs for the exact
//! contract, including what happens to unknown types, unknown members and absurd timestamps.

pub mod graph;
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
