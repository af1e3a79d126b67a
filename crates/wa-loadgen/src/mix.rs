//! The workload: realistic, correctly signed webhook deliveries built before the timed run,
//! each with the idempotency keys of the events wadesk must record for it.

use bytes::Bytes;
use http::HeaderValue;

use crate::LoadgenError;

/// What one delivery carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// One inbound text message.
    Text,
    /// One inbound media message (image, document, audio, video or sticker).
    Media,
    /// One to three status updates of outbound messages (sent, delivered, read), with pricing.
    Status,
    /// Several messages in one delivery: two to five messages in one change, or two changes
    /// for two numbers.
    Batch,
    /// An exact resend (same bytes, same signature) of an earlier delivery, as Meta does when an
    /// acknowledgement was lost.
    Duplicate,
}

impl Kind {
    /// A short name for reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Text => "text",
            Kind::Media => "media",
            Kind::Status => "status",
            Kind::Batch => "batch",
            Kind::Duplicate => "duplicate",
        }
    }
}

/// A WhatsApp number the deliveries are addressed to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumberSpec {
    /// Meta's `phone_number_id` (digits).
    pub phone_number_id: String,
    /// The WhatsApp Business Account id (digits).
    pub waba_id: String,
    /// The number as shown, e.g. `15550100001`.
    pub display_phone_number: String,
}

impl NumberSpec {
    /// `count` numbers with ids derived from `index`: `phone_number_id` 1095550000000+i,
    /// `waba_id` 2095550000000+i.
    pub fn fleet(count: usize) -> Vec<NumberSpec> {
        (0..count)
            .map(|i| NumberSpec {
                phone_number_id: format!("{}", 1_095_550_000_000u64 + i as u64),
                waba_id: format!("{}", 2_095_550_000_000u64 + i as u64),
                display_phone_number: format!("1555010{:04}", i),
            })
            .collect()
    }
}

/// How to build the workload.
#[derive(Debug, Clone)]
pub struct MixConfig {
    /// The numbers deliveries are addressed to (at least one).
    pub numbers: Vec<NumberSpec>,
    /// The app secret that signs every body.
    pub secret: String,
    /// A tag unique to this run, part of every wamid, so runs against one database do not
    /// collide and verification can tell this run's events from older ones.
    pub run_tag: String,
    /// Seed of the deterministic generator.
    pub seed: u64,
    /// Per mille of deliveries that are exact resends of an earlier one (default 50 = 5%).
    pub duplicate_permille: u32,
    /// WhatsApp's `timestamp` (Unix seconds) written into messages and statuses.
    pub wa_timestamp: i64,
}

/// One pre-built delivery.
#[derive(Debug, Clone)]
pub struct PreparedDelivery {
    /// The raw body.
    pub body: Bytes,
    /// The `X-Hub-Signature-256` value for it.
    pub signature: HeaderValue,
    /// What it is.
    pub kind: Kind,
    /// Index into [`Workload::contents`]: a duplicate points at its original's content.
    pub content: usize,
}

/// The pre-built workload.
#[derive(Debug, Clone, Default)]
pub struct Workload {
    /// The deliveries, in sending order.
    pub deliveries: Vec<PreparedDelivery>,
    /// For every distinct body, the idempotency keys of the events wadesk must record for it.
    pub contents: Vec<Vec<String>>,
}

impl Workload {
    /// Body bytes over all deliveries.
    pub fn total_bytes(&self) -> usize {
        self.deliveries.iter().map(|d| d.body.len()).sum()
    }
}

/// splitmix64: small, fast, deterministic; good enough to pick a mix.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

const TEXTS: &[&str] = &[
    "Hi, my order has not arrived yet. Can you check?",
    "Hello! I would like to change the delivery address for order 48213.",
    "Thanks, that worked.",
    "Is the store open on Sunday?",
    "I was charged twice for the same subscription, please refund one of them.",
    "Can I speak to a human please",
    "The app crashes when I open the invoices page \u{1F62D}",
    "Ok \u{1F44D}",
    "Where can I download my receipt?",
    "Olá, gostaria de saber o prazo de entrega para São Paulo.",
];

const NAMES: &[&str] = &[
    "Ana Souza",
    "Rahul Mehta",
    "Chen Wei",
    "Maria García",
    "John Smith",
    "Fatima Zahra",
    "Kwame Mensah",
    "Olga Ivanova",
];

/// Builds the workload: `count` deliveries following the mix (about 50% text, 15% media, 20%
/// statuses, 10% batches, `duplicate_permille` resends).
pub fn build(config: &MixConfig, count: usize) -> Result<Workload, LoadgenError> {
    if config.numbers.is_empty() {
        return Err(LoadgenError::Usage("at least one number is needed".into()));
    }
    let mut rng = Rng::new(config.seed);
    let mut generator = Gen {
        config,
        seq: 0,
        rng: Rng::new(config.seed ^ 0x5EED),
    };
    let mut w = Workload {
        deliveries: Vec::with_capacity(count),
        contents: Vec::with_capacity(count),
    };
    for i in 0..count {
        let roll = rng.below(1000) as u32;
        if i > 0 && roll < config.duplicate_permille {
            // Resend something recent but most likely already acknowledged.
            let back = 1 + rng.below(2_000.min(i as u64)) as usize;
            let original = w.deliveries[i - back].clone();
            w.deliveries.push(PreparedDelivery {
                kind: Kind::Duplicate,
                ..original
            });
            continue;
        }
        let roll = rng.below(100);
        let kind = match roll {
            0..=52 => Kind::Text,
            53..=68 => Kind::Media,
            69..=89 => Kind::Status,
            _ => Kind::Batch,
        };
        let (body, keys) = generator.body(kind);
        let signature = HeaderValue::from_str(&wa_client::signature::sign(
            config.secret.as_bytes(),
            body.as_bytes(),
        ))
        .map_err(|e| LoadgenError::Usage(format!("signature header: {e}")))?;
        w.contents.push(keys);
        w.deliveries.push(PreparedDelivery {
            body: Bytes::from(body),
            signature,
            kind,
            content: w.contents.len() - 1,
        });
    }
    Ok(w)
}

struct Gen<'a> {
    config: &'a MixConfig,
    seq: u64,
    rng: Rng,
}

impl Gen<'_> {
    fn wamid(&mut self) -> String {
        self.seq += 1;
        // Real wamids are base64 of a protobuf; the shape (prefix, length) is what matters.
        format!(
            "wamid.HBgL{}{:016X}AA{}",
            self.config.run_tag, self.seq, "RIAEhgWM0E3RjQ5QUJGMzlCQjc5MDcA"
        )
    }

    fn customer(&mut self) -> (String, &'static str) {
        let n = self.rng.below(900_000_000);
        let name = NAMES[self.rng.below(NAMES.len() as u64) as usize];
        (format!("55119{:08}", n % 100_000_000), name)
    }

    fn number(&mut self) -> &NumberSpec {
        let n = self.config.numbers.len() as u64;
        &self.config.numbers[self.rng.below(n) as usize]
    }

    fn body(&mut self, kind: Kind) -> (String, Vec<String>) {
        let number = self.number().clone();
        let mut keys = Vec::new();
        let change = match kind {
            Kind::Text | Kind::Media => {
                let (wa_id, name) = self.customer();
                let (msg, key) = self.message(&number, &wa_id, kind == Kind::Media);
                keys.push(key);
                change_messages(&number, &[(wa_id, name)], &[msg])
            }
            Kind::Status => {
                let (wa_id, _) = self.customer();
                let wamid = self.wamid();
                let n = 1 + self.rng.below(3) as usize;
                let statuses: Vec<String> = ["sent", "delivered", "read"][..n]
                    .iter()
                    .map(|s| {
                        keys.push(format!(
                            "status:{}:{wamid}:{s}:{wa_id}",
                            number.phone_number_id
                        ));
                        self.status(&wamid, s, &wa_id)
                    })
                    .collect();
                change_statuses(&number, &statuses)
            }
            Kind::Batch | Kind::Duplicate => {
                if self.config.numbers.len() > 1 && self.rng.below(3) == 0 {
                    // Two changes, for two numbers of the same business.
                    let other = loop {
                        let o = self.number().clone();
                        if o.phone_number_id != number.phone_number_id {
                            break o;
                        }
                    };
                    let mut changes = Vec::new();
                    for num in [&number, &other] {
                        let (wa_id, name) = self.customer();
                        let (msg, key) = self.message(num, &wa_id, false);
                        keys.push(key);
                        changes.push(change_messages(num, &[(wa_id, name)], &[msg]));
                    }
                    changes.join(",")
                } else {
                    let n = 2 + self.rng.below(4) as usize;
                    let mut contacts = Vec::new();
                    let mut msgs = Vec::new();
                    for _ in 0..n {
                        let (wa_id, name) = self.customer();
                        let media = self.rng.below(4) == 0;
                        let (msg, key) = self.message(&number, &wa_id, media);
                        keys.push(key);
                        msgs.push(msg);
                        contacts.push((wa_id, name));
                    }
                    change_messages(&number, &contacts, &msgs)
                }
            }
        };
        let body = format!(
            r#"{{"object":"whatsapp_business_account","entry":[{{"id":"{}","changes":[{change}]}}]}}"#,
            number.waba_id
        );
        (body, keys)
    }

    fn message(&mut self, number: &NumberSpec, wa_id: &str, media: bool) -> (String, String) {
        let wamid = self.wamid();
        let ts = self.config.wa_timestamp;
        let key = format!("msg:{}:{wamid}", number.phone_number_id);
        let content = if media {
            let media_id = 1_000_000_000_000 + self.rng.below(8_999_999_999_999);
            match self.rng.below(5) {
                0 => format!(
                    r#""type":"image","image":{{"caption":"photo of the damaged box","mime_type":"image/jpeg","sha256":"XoT3E8a3kR0nVHtQ8QnH4zWz5qSKbq0uY0rO2hJpTns=","id":"{media_id}"}}"#
                ),
                1 => format!(
                    r#""type":"document","document":{{"caption":"invoice","filename":"invoice-2026-11.pdf","mime_type":"application/pdf","sha256":"hT6bX2WmP1Z5u2sJ0k8y9Q3o4ZpR7wLxVf6cN1dE8aA=","id":"{media_id}"}}"#
                ),
                2 => format!(
                    r#""type":"audio","audio":{{"mime_type":"audio/ogg; codecs=opus","sha256":"9vBq2Xc1pL0mN8kJ7hG6fD5sA4qW3eR2tY1uI0oP9zE=","id":"{media_id}","voice":true}}"#
                ),
                3 => format!(
                    r#""type":"video","video":{{"mime_type":"video/mp4","sha256":"Qm9vZGxlcyBhbmQgY2F0cyBhcmUgbmljZSB0b28gOik=","id":"{media_id}"}}"#
                ),
                _ => format!(
                    r#""type":"sticker","sticker":{{"mime_type":"image/webp","sha256":"c3RpY2tlciBzaGEgZm9yIHRoZSBsb2FkIGdlbmVyYXQ=","id":"{media_id}","animated":false}}"#
                ),
            }
        } else {
            let text = TEXTS[self.rng.below(TEXTS.len() as u64) as usize];
            format!(r#""type":"text","text":{{"body":"{text}"}}"#)
        };
        (
            format!(r#"{{"from":"{wa_id}","id":"{wamid}","timestamp":"{ts}",{content}}}"#),
            key,
        )
    }

    fn status(&mut self, wamid: &str, status: &str, wa_id: &str) -> String {
        let ts = self.config.wa_timestamp;
        let conv = self.rng.next_u64();
        format!(
            r#"{{"id":"{wamid}","status":"{status}","timestamp":"{ts}","recipient_id":"{wa_id}","conversation":{{"id":"{conv:032x}","origin":{{"type":"service"}}}},"pricing":{{"billable":true,"pricing_model":"CBP","category":"service"}}}}"#
        )
    }
}

fn metadata(number: &NumberSpec) -> String {
    format!(
        r#""messaging_product":"whatsapp","metadata":{{"display_phone_number":"{}","phone_number_id":"{}"}}"#,
        number.display_phone_number, number.phone_number_id
    )
}

fn change_messages(
    number: &NumberSpec,
    contacts: &[(String, &str)],
    messages: &[String],
) -> String {
    let contacts: Vec<String> = contacts
        .iter()
        .map(|(wa_id, name)| format!(r#"{{"profile":{{"name":"{name}"}},"wa_id":"{wa_id}"}}"#))
        .collect();
    format!(
        r#"{{"value":{{{},"contacts":[{}],"messages":[{}]}},"field":"messages"}}"#,
        metadata(number),
        contacts.join(","),
        messages.join(",")
    )
}

fn change_statuses(number: &NumberSpec, statuses: &[String]) -> String {
    format!(
        r#"{{"value":{{{},"statuses":[{}]}},"field":"messages"}}"#,
        metadata(number),
        statuses.join(",")
    )
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeSet, HashMap};

    use super::*;
    use wadesk_app::inbox::{self, Route};

    fn config() -> MixConfig {
        MixConfig {
            numbers: NumberSpec::fleet(3),
            secret: "s3cret".into(),
            run_tag: "T0001".into(),
            seed: 7,
            duplicate_permille: 50,
            wa_timestamp: 1_764_000_000,
        }
    }

    /// The keys the generator promises are exactly the keys wadesk's own splitter derives.
    #[test]
    fn expected_keys_match_wadesk_split() {
        let w = build(&config(), 2_000).expect("build");
        let routes: HashMap<String, Route> = NumberSpec::fleet(3)
            .into_iter()
            .enumerate()
            .map(|(i, n)| {
                (
                    n.phone_number_id,
                    Route {
                        account_id: ticketing_core::AccountId(1),
                        number_id: ticketing_core::NumberId(i as i64 + 1),
                    },
                )
            })
            .collect();
        let received = time::OffsetDateTime::from_unix_timestamp(1_764_000_100).expect("time");
        for d in &w.deliveries {
            let n = inbox::parse(&d.body).expect("parses");
            let completion = inbox::split(&n, &routes, received);
            assert_eq!(completion.state, store::DeliveryState::Processed);
            let got: BTreeSet<String> = completion.events.into_iter().map(|e| e.key).collect();
            let want: BTreeSet<String> = w.contents[d.content].iter().cloned().collect();
            assert_eq!(got, want, "{}", String::from_utf8_lossy(&d.body));
            assert!(
                wa_client::signature::verify_signature(
                    b"s3cret",
                    &d.body,
                    d.signature.to_str().ok()
                )
                .is_ok()
            );
        }
    }

    #[test]
    fn mix_has_every_kind_and_about_five_percent_duplicates() {
        let w = build(&config(), 20_000).expect("build");
        let mut counts: HashMap<Kind, usize> = HashMap::new();
        for d in &w.deliveries {
            *counts.entry(d.kind).or_default() += 1;
        }
        let dup = counts[&Kind::Duplicate] as f64 / 20_000.0;
        assert!((0.04..0.06).contains(&dup), "duplicates {dup}");
        for k in [Kind::Text, Kind::Media, Kind::Status, Kind::Batch] {
            assert!(counts[&k] > 1_000, "{k:?}: {}", counts[&k]);
        }
        // Every wamid-bearing key is unique across distinct contents.
        let mut all = BTreeSet::new();
        for keys in &w.contents {
            for k in keys {
                assert!(all.insert(k.clone()), "duplicate key {k}");
            }
        }
        // A duplicate is byte-identical to its original.
        for d in w.deliveries.iter().filter(|d| d.kind == Kind::Duplicate) {
            let original = w
                .deliveries
                .iter()
                .find(|o| o.content == d.content && o.kind != Kind::Duplicate)
                .expect("original");
            assert_eq!(original.body, d.body);
        }
    }

    #[test]
    fn same_seed_same_workload() {
        let a = build(&config(), 500).expect("a");
        let b = build(&config(), 500).expect("b");
        assert_eq!(a.contents, b.contents);
        assert!(
            a.deliveries
                .iter()
                .zip(&b.deliveries)
                .all(|(x, y)| x.body == y.body)
        );
    }
}
