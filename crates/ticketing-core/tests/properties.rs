//! Property tests for ticketing-core's pure decisions: threading against a reference model,
//! phone canonicalisation, country lookup variants, and entry ordering.
// Test helpers outside `#[test]` functions build fixtures from known-good literals.
#![allow(clippy::expect_used)]

use proptest::prelude::*;
use std::collections::BTreeMap;
use ticketing_core::contact::{
    ContactCandidate, ContactIdentity, E164, MatchedBy, WaId, canonicalize_phone, match_contact,
    supported_regions,
};
use ticketing_core::conversation::{Annotation, Entry, MessageContent, Thread, Wamid};
use ticketing_core::threading::{LatestTicket, ThreadDecision, decide_thread};
use ticketing_core::{ContactId, Status, ThreadingInterval, TicketId};
use time::{Duration, OffsetDateTime, macros::datetime};

const T0: OffsetDateTime = datetime!(2026-01-01 00:00:00 UTC);

// ---------------------------------------------------------------------------------------------
// Threading against a reference model.

#[derive(Debug, Clone)]
enum Gap {
    Exact,     // exactly the interval
    JustOver,  // interval + 1 s
    JustUnder, // interval - 1 s
    Zero,      // same second
    Secs(i64), // anything up to three intervals
}

#[derive(Debug, Clone)]
struct Step {
    gap: Gap,
    incoming: bool,
    /// A status an agent sets on the latest ticket after this message.
    set_status: Option<Status>,
    /// A new threading interval for the number, before this message.
    new_interval: Option<i64>,
}

fn step() -> impl Strategy<Value = Step> {
    let gap = prop_oneof![
        Just(Gap::Exact),
        Just(Gap::JustOver),
        Just(Gap::JustUnder),
        Just(Gap::Zero),
        (0i64..3 * 48 * 3600).prop_map(Gap::Secs),
    ];
    let status = prop_oneof![
        3 => Just(None),
        1 => prop::sample::select(vec![Status::Open, Status::Pending, Status::Resolved, Status::Closed]).prop_map(Some),
    ];
    let interval = prop_oneof![5 => Just(None), 1 => (1i64..=48).prop_map(Some)];
    (gap, prop::bool::weighted(0.7), status, interval).prop_map(
        |(gap, incoming, set_status, new_interval)| Step {
            gap,
            incoming,
            set_status,
            new_interval,
        },
    )
}

/// What happened to one message.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Outcome {
    ticket: Option<usize>,
    reopened: bool,
}

/// The reference: sessions split by gaps. An incoming message starts a new ticket exactly when
/// there is no earlier message or it comes more than the interval (in seconds, as integers)
/// after the previous message in either direction. Outgoing messages never split.
fn reference(steps: &[(i64, &Step)], initial_hours: i64) -> Vec<Outcome> {
    let mut hours = initial_hours;
    let mut prev: Option<i64> = None;
    let mut tickets = 0usize;
    let mut status = 2i64;
    let mut out = Vec::new();
    for (t, s) in steps {
        if let Some(h) = s.new_interval {
            hours = h;
        }
        let o = match (s.incoming, prev) {
            (true, None) => {
                tickets += 1;
                status = 2;
                Outcome {
                    ticket: Some(tickets - 1),
                    reopened: false,
                }
            }
            (true, Some(p)) if t - p > hours * 3600 => {
                tickets += 1;
                status = 2;
                Outcome {
                    ticket: Some(tickets - 1),
                    reopened: false,
                }
            }
            (true, Some(_)) => {
                let reopened = status == 4 || status == 5;
                if reopened {
                    status = 2;
                }
                Outcome {
                    ticket: Some(tickets - 1),
                    reopened,
                }
            }
            (false, None) => Outcome {
                ticket: None,
                reopened: false,
            },
            (false, Some(_)) => Outcome {
                ticket: Some(tickets - 1),
                reopened: false,
            },
        };
        if o.ticket.is_some() {
            prev = Some(*t);
            if let Some(st) = s.set_status {
                status = st.code();
            }
        }
        out.push(o);
    }
    out
}

/// The implementation: `decide_thread` over `Thread`s, as the job loop will use it.
fn implementation(steps: &[(i64, &Step)], initial_hours: i64) -> Vec<Outcome> {
    let mut interval = ThreadingInterval::from_hours(initial_hours).expect("interval");
    let mut tickets: Vec<(Thread, Status)> = Vec::new();
    let mut out = Vec::new();
    for (i, (t, s)) in steps.iter().enumerate() {
        if let Some(h) = s.new_interval {
            interval = ThreadingInterval::from_hours(h).expect("interval");
        }
        let at = T0 + Duration::seconds(*t);
        let entry_id = Wamid::parse(&format!("wamid.{i:06}")).expect("wamid");
        let o = if s.incoming {
            let latest = tickets.last().map(|(th, st)| LatestTicket {
                ticket_id: TicketId((tickets.len() - 1) as i64),
                status: *st,
                last_message_at: th.last_message_at().expect("non-empty"),
            });
            let entry = Entry::incoming(entry_id, at, MessageContent::default());
            match decide_thread(latest.as_ref(), interval, at) {
                ThreadDecision::Join { ticket_id, reopen } => {
                    let (th, st) = &mut tickets[ticket_id.get() as usize];
                    th.insert(entry);
                    if let Some(next) =
                        (ThreadDecision::Join { ticket_id, reopen }).status_after(*st)
                    {
                        *st = next;
                    }
                    Outcome {
                        ticket: Some(ticket_id.get() as usize),
                        reopened: reopen,
                    }
                }
                ThreadDecision::NewTicket => {
                    tickets.push((Thread::from_entries([entry]), Status::Open));
                    Outcome {
                        ticket: Some(tickets.len() - 1),
                        reopened: false,
                    }
                }
            }
        } else {
            match tickets.last_mut() {
                Some((th, _)) => {
                    th.insert(Entry::outgoing(entry_id, at, MessageContent::default()));
                    Outcome {
                        ticket: Some(tickets.len() - 1),
                        reopened: false,
                    }
                }
                None => Outcome {
                    ticket: None,
                    reopened: false,
                },
            }
        };
        if o.ticket.is_some()
            && let (Some(st), Some((_, cur))) = (s.set_status, tickets.last_mut())
        {
            *cur = st;
        }
        out.push(o);
    }
    out
}

fn timeline(steps: &[Step], initial_hours: i64) -> Vec<(i64, &Step)> {
    let mut hours = initial_hours;
    let mut t = 0i64;
    steps
        .iter()
        .enumerate()
        .map(|(i, s)| {
            if let Some(h) = s.new_interval {
                hours = h;
            }
            let iv = hours * 3600;
            if i > 0 {
                t += match s.gap {
                    Gap::Exact => iv,
                    Gap::JustOver => iv + 1,
                    Gap::JustUnder => iv - 1,
                    Gap::Zero => 0,
                    Gap::Secs(n) => n % (3 * iv),
                };
            }
            (t, s)
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn threading_matches_the_reference_model(hours in 1i64..=48, steps in prop::collection::vec(step(), 1..40)) {
        let tl = timeline(&steps, hours);
        prop_assert_eq!(implementation(&tl, hours), reference(&tl, hours));
    }

    #[test]
    fn exactly_at_the_boundary_joins_and_one_second_later_does_not(hours in 1i64..=48, status in prop::sample::select(Status::ALL.to_vec())) {
        let iv = ThreadingInterval::from_hours(hours).expect("interval");
        let last = T0 + Duration::seconds(12_345);
        let l = LatestTicket { ticket_id: TicketId(1), status, last_message_at: last };
        let at_boundary = decide_thread(Some(&l), iv, last + Duration::hours(hours));
        prop_assert_eq!(at_boundary, ThreadDecision::Join { ticket_id: TicketId(1), reopen: status.is_done() });
        let after = decide_thread(Some(&l), iv, last + Duration::hours(hours) + Duration::seconds(1));
        prop_assert_eq!(after, ThreadDecision::NewTicket);
    }
}

// ---------------------------------------------------------------------------------------------
// Phone canonicalisation.

fn messy_input() -> impl Strategy<Value = String> {
    let prefix = prop::sample::select(vec![
        "", "+", "00", "tel:+", "0", "011", "+44 (0)", "1 ", "8",
    ]);
    let chunks = prop::collection::vec(
        (
            "[0-9]{1,4}",
            prop::sample::select(vec![" ", "-", ".", "", "(", ")", "/"]),
        ),
        1..6,
    );
    (prefix, chunks).prop_map(|(p, cs)| {
        let mut s = p.to_owned();
        for (digits, sep) in cs {
            s.push_str(&digits);
            s.push_str(sep);
        }
        s
    })
}

fn region() -> impl Strategy<Value = Option<&'static str>> {
    let regions: Vec<Option<&'static str>> = std::iter::once(None)
        .chain(supported_regions().map(Some))
        .collect();
    prop::sample::select(regions)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn canonicalisation_is_idempotent(input in messy_input(), r1 in region(), r2 in region()) {
        if let Ok(e) = canonicalize_phone(&input, r1) {
            prop_assert_eq!(canonicalize_phone(e.as_str(), r1).ok(), Some(e.clone()));
            prop_assert_eq!(canonicalize_phone(e.as_str(), r2).ok(), Some(e.clone()));
            prop_assert_eq!(canonicalize_phone(e.as_str(), None).ok(), Some(e.clone()));
            prop_assert_eq!(E164::parse(e.as_str()).ok(), Some(e.clone()));
        }
    }

    #[test]
    fn every_common_format_of_a_number_reads_the_same(digits in "[1-9][0-9]{6,14}", split in 1usize..6, r in region()) {
        let Ok(e) = canonicalize_phone(&format!("+{digits}"), None) else { return Ok(()); };
        let d = e.digits();
        let cut = split.min(d.len() - 1);
        let formats = [
            format!("+{} {}", &d[..cut], &d[cut..]),
            format!("+{}-{}", &d[..cut], &d[cut..]),
            format!("tel:+{}.{}", &d[..cut], &d[cut..]),
            format!("(+{}) {}", &d[..cut], &d[cut..]),
            format!("  +{d}  "),
            format!("00{d}"),
        ];
        for f in &formats {
            let region = if f.starts_with("00") { None } else { r };
            prop_assert_eq!(canonicalize_phone(f, region).ok(), Some(e.clone()), "{}", f);
        }
        // A WhatsApp id (digits, no '+') reads the same without a region.
        prop_assert_eq!(canonicalize_phone(d, None).ok(), Some(e.clone()));
    }
}

// ---------------------------------------------------------------------------------------------
// Country variants: each finds the same contact and nothing else.

/// A person, identified by a key independent of how their number is written.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Person {
    BrMobile {
        ddd: String,
        sub: String,
    },
    BrLandline {
        ddd: String,
        sub: String,
    },
    /// A newer nine-digit mobile whose eight digits after the 9 start with 2 to 5: it never had
    /// an eight-digit form, and must not be confused with the landline of those eight digits.
    BrMobileNew {
        ddd: String,
        sub: String,
    },
    Ar {
        nsn: String,
    },
    Mx {
        nsn: String,
    },
    Us {
        nsn: String,
    },
    Gb {
        nsn: String,
    },
}

impl Person {
    /// Every way WhatsApp or an agent may write this person's number (digits with calling code).
    fn spellings(&self) -> Vec<String> {
        match self {
            Person::BrMobile { ddd, sub } => {
                vec![format!("55{ddd}9{sub}"), format!("55{ddd}{sub}")]
            }
            Person::BrLandline { ddd, sub } => vec![format!("55{ddd}{sub}")],
            Person::BrMobileNew { ddd, sub } => vec![format!("55{ddd}9{sub}")],
            Person::Ar { nsn } => vec![format!("549{nsn}"), format!("54{nsn}")],
            Person::Mx { nsn } => vec![format!("521{nsn}"), format!("52{nsn}")],
            Person::Us { nsn } => vec![format!("1{nsn}")],
            Person::Gb { nsn } => vec![format!("44{nsn}")],
        }
    }
}

fn person() -> impl Strategy<Value = Person> {
    prop_oneof![
        ("[1-9][1-9]", "[6-9][0-9]{7}").prop_map(|(ddd, sub)| Person::BrMobile { ddd, sub }),
        ("[1-9][1-9]", "[2-5][0-9]{7}").prop_map(|(ddd, sub)| Person::BrLandline { ddd, sub }),
        ("[1-9][1-9]", "[2-5][0-9]{7}").prop_map(|(ddd, sub)| Person::BrMobileNew { ddd, sub }),
        "[1-3][0-9]{9}".prop_map(|nsn| Person::Ar { nsn }),
        "[2-9][0-9]{9}".prop_map(|nsn| Person::Mx { nsn }),
        "[2-9][0-9]{2}[2-9][0-9]{6}".prop_map(|nsn| Person::Us { nsn }),
        "7[0-9]{9}".prop_map(|nsn| Person::Gb { nsn }),
    ]
}

/// Small digit alphabets so that different people often share most of their digits.
fn crowded_person() -> impl Strategy<Value = Person> {
    prop_oneof![
        ("1[12]", "[69][01]{7}").prop_map(|(ddd, sub)| Person::BrMobile { ddd, sub }),
        ("1[12]", "[29][01]{7}")
            .prop_map(|(ddd, sub)| Person::BrLandline { ddd, sub })
            .prop_filter("landline", |p| {
                matches!(p, Person::BrLandline { sub, .. } if sub.starts_with('2'))
            }),
        ("1[12]", "2[01]{7}").prop_map(|(ddd, sub)| Person::BrMobileNew { ddd, sub }),
        "1[19][01]{8}".prop_map(|nsn| Person::Ar { nsn }),
        "[29][01]{9}".prop_map(|nsn| Person::Mx { nsn }),
    ]
}

fn world(
    p: BoxedStrategy<Person>,
) -> impl Strategy<Value = (Vec<(Person, usize, bool)>, Person, usize)> {
    (
        prop::collection::vec((p.clone(), 0usize..2, any::<bool>()), 1..25),
        p,
        0usize..2,
    )
}

fn check_world(
    people: Vec<(Person, usize, bool)>,
    outsider: Person,
    spelling: usize,
) -> Result<(), TestCaseError> {
    // One contact per person (the first spelling drawn for them), stored either as a bound
    // WhatsApp id or as a phone typed by an agent.
    let mut contacts: BTreeMap<Person, ContactCandidate> = BTreeMap::new();
    for (i, (p, s, as_wa_id)) in people.into_iter().enumerate() {
        let sp = p.spellings();
        let digits = &sp[s % sp.len()];
        let wa = WaId::parse(digits).expect("wa_id");
        let c = ContactCandidate {
            id: ContactId(i as i64 + 1),
            name: String::new(),
            wa_id: as_wa_id.then(|| wa.clone()),
            bsuid: None,
            phones: if as_wa_id { vec![] } else { vec![wa.to_e164()] },
        };
        contacts.entry(p).or_insert(c);
    }
    let candidates: Vec<ContactCandidate> = contacts.values().cloned().collect();
    for (p, c) in &contacts {
        for sp in p.spellings() {
            let inc = ContactIdentity::from_wa_id(WaId::parse(&sp).expect("wa_id"));
            let m = match_contact(&candidates, &inc);
            prop_assert_eq!(
                m.map(|m| m.contact_id),
                Some(c.id),
                "{:?} written {}",
                p,
                sp
            );
            prop_assert!(m.is_some_and(|m| m.by >= MatchedBy::WaId));
        }
    }
    if !contacts.contains_key(&outsider) {
        let sp = outsider.spellings();
        let inc =
            ContactIdentity::from_wa_id(WaId::parse(&sp[spelling % sp.len()]).expect("wa_id"));
        prop_assert_eq!(
            match_contact(&candidates, &inc),
            None,
            "outsider {:?}",
            outsider
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn each_variant_finds_the_same_contact_and_nothing_else((people, outsider, spelling) in world(person().boxed())) {
        check_world(people, outsider, spelling)?;
    }

    #[test]
    fn no_false_matches_among_lookalike_numbers((people, outsider, spelling) in world(crowded_person().boxed())) {
        check_world(people, outsider, spelling)?;
    }
}

// ---------------------------------------------------------------------------------------------
// Entry ordering does not depend on arrival order.

#[derive(Debug, Clone)]
enum Ann {
    React(usize, Option<&'static str>, i64),
    Revoke(usize, i64),
    Edit(usize, i64),
}

fn thread_case() -> impl Strategy<Value = (Vec<(i64, bool)>, Vec<Ann>)> {
    prop::collection::vec((0i64..6, any::<bool>()), 1..12).prop_flat_map(|entries| {
        let n = entries.len();
        let ann = prop_oneof![
            (
                0..n,
                prop::sample::select(vec![Some("👍"), Some("❤️"), None]),
                0i64..8
            )
                .prop_map(|(i, e, t)| Ann::React(i, e, t)),
            (0..n, 0i64..8).prop_map(|(i, t)| Ann::Revoke(i, t)),
            (0..n, 0i64..8).prop_map(|(i, t)| Ann::Edit(i, t)),
        ];
        (Just(entries), prop::collection::vec(ann, 0..12))
    })
}

fn build(entries: &[(usize, (i64, bool))], anns: &[(usize, Ann)]) -> Thread {
    let mut t = Thread::new();
    for (i, (secs, incoming)) in entries {
        let id = Wamid::parse(&format!("wamid.m{i}")).expect("wamid");
        let at = T0 + Duration::seconds(*secs);
        let content = MessageContent {
            body: Some(format!("message {i}")),
            ..MessageContent::default()
        };
        t.insert(if *incoming {
            Entry::incoming(id, at, content)
        } else {
            Entry::outgoing(id, at, content)
        });
    }
    for (k, a) in anns {
        let target = |i: &usize| Wamid::parse(&format!("wamid.m{i}")).expect("wamid");
        let event = Wamid::parse(&format!("wamid.a{k}")).expect("wamid");
        let (target, ann) = match a {
            Ann::React(i, e, s) => (
                target(i),
                Annotation::Reaction {
                    emoji: e.map(str::to_owned),
                    at: T0 + Duration::seconds(*s),
                    event,
                },
            ),
            Ann::Revoke(i, s) => (
                target(i),
                Annotation::Revoke {
                    at: T0 + Duration::seconds(*s),
                    event,
                },
            ),
            Ann::Edit(i, s) => (
                target(i),
                Annotation::Edit {
                    at: T0 + Duration::seconds(*s),
                    event,
                    content: MessageContent {
                        body: Some(format!("edit {k}")),
                        ..MessageContent::default()
                    },
                },
            ),
        };
        t.annotate(&target, ann);
    }
    t
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn entry_order_and_annotations_are_independent_of_arrival_order(
        ((entries, anns), seed) in (thread_case(), any::<u64>())
    ) {
        let entries: Vec<(usize, (i64, bool))> = entries.into_iter().enumerate().collect();
        let anns: Vec<(usize, Ann)> = anns.into_iter().enumerate().collect();
        let in_order = build(&entries, &anns);
        // A deterministic shuffle from the seed (entries and annotations separately; annotations
        // arrive after their targets, as the job loop processes in timestamp order).
        let mut e2 = entries.clone();
        let mut a2 = anns.clone();
        shuffle(&mut e2, seed);
        shuffle(&mut a2, seed.rotate_left(17));
        let shuffled = build(&e2, &a2);
        prop_assert_eq!(&in_order, &shuffled);
        // Sorted by (timestamp, wamid); the description is the minimum.
        let keys: Vec<_> = in_order.entries().iter().map(|e| (e.at, e.wamid.clone())).collect();
        let mut sorted = keys.clone();
        sorted.sort();
        prop_assert_eq!(&keys, &sorted);
        prop_assert_eq!(in_order.description().map(|e| (e.at, e.wamid.clone())), sorted.first().cloned());
        prop_assert_eq!(in_order.conversations().len() + 1, in_order.entries().len());
        // Annotations never change content.
        for e in in_order.entries() {
            let i: usize = e.wamid.as_str()["wamid.m".len()..].parse().expect("index");
            prop_assert_eq!(e.content.body.clone(), Some(format!("message {i}")));
        }
    }
}

fn shuffle<T>(v: &mut [T], mut seed: u64) {
    for i in (1..v.len()).rev() {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let j = (seed >> 33) as usize % (i + 1);
        v.swap(i, j);
    }
}
