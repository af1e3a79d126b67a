use super::*;

fn w(s: &str) -> WaId {
    WaId::parse(s).expect("wa_id")
}
fn e(s: &str) -> E164 {
    E164::parse(s).expect("e164")
}
fn b(s: &str) -> Bsuid {
    Bsuid::parse(s).expect("bsuid")
}
fn cand(id: i64, wa: Option<&str>, bs: Option<&str>, phones: &[&str]) -> ContactCandidate {
    ContactCandidate {
        id: ContactId(id),
        name: String::new(),
        wa_id: wa.map(w),
        bsuid: bs.map(b),
        phones: phones.iter().map(|p| e(p)).collect(),
    }
}

#[test]
fn wa_id_validation() {
    assert!(WaId::parse("14155550100").is_ok());
    assert!(WaId::parse("1234567").is_ok());
    assert!(WaId::parse("123456").is_err());
    assert!(WaId::parse("1234567890123456").is_err());
    assert!(WaId::parse("04155550100").is_err());
    assert!(WaId::parse("+14155550100").is_err());
    assert!(WaId::parse("1415555010x").is_err());
    assert_eq!(w("14155550100").to_e164().as_str(), "+14155550100");
    let j: Result<WaId, _> = serde_json::from_str("\"0123\"");
    assert!(j.is_err());
    assert_eq!(
        serde_json::to_string(&w("14155550100")).ok().as_deref(),
        Some("\"14155550100\"")
    );
}

#[test]
fn bsuid_validation() {
    assert!(Bsuid::parse("US.13491208655302741918").is_ok());
    assert!(Bsuid::parse("US.ENT.11815799212886844830").is_ok());
    assert!(Bsuid::parse("us.1349").is_err());
    assert!(Bsuid::parse("US.").is_err());
    assert!(Bsuid::parse("US").is_err());
    assert!(Bsuid::parse("USA.123").is_err());
    assert!(Bsuid::parse("US.12 3").is_err());
}

#[test]
fn e164_parse_is_strict() {
    assert!(E164::parse("+14155550100").is_ok());
    assert!(E164::parse("14155550100").is_err());
    assert!(E164::parse("+1 415 555 0100").is_err());
    assert_eq!(e("+442079460958").calling_code(), Some(44));
    assert_eq!(e("+442079460958").digits(), "442079460958");
}

#[test]
fn matches_by_wa_id_first() {
    let cs = [
        cand(5, None, None, &["+14155550100"]),
        cand(9, Some("14155550100"), None, &[]),
    ];
    let m = match_contact(&cs, &ContactIdentity::from_wa_id(w("14155550100")));
    assert_eq!(
        m,
        Some(ContactMatch {
            contact_id: ContactId(9),
            by: MatchedBy::WaId
        })
    );
}

#[test]
fn matches_by_bsuid_when_no_phone() {
    let cs = [
        cand(3, None, Some("US.111"), &[]),
        cand(4, None, Some("US.222"), &[]),
    ];
    let inc = ContactIdentity {
        bsuid: Some(b("US.222")),
        ..Default::default()
    };
    assert_eq!(
        match_contact(&cs, &inc).map(|m| (m.contact_id, m.by)),
        Some((ContactId(4), MatchedBy::Bsuid))
    );
}

#[test]
fn api_contact_with_formatted_phone_is_the_whatsapp_sender() {
    // Created through the API as "+1 (415) 555-0100"; the lead stores the canonical form.
    let phone = canonicalize_phone("+1 (415) 555-0100", None).expect("phone");
    let cs = [cand(7, None, None, &[phone.as_str()])];
    let m = match_contact(&cs, &ContactIdentity::from_wa_id(w("14155550100")));
    assert_eq!(
        m,
        Some(ContactMatch {
            contact_id: ContactId(7),
            by: MatchedBy::Phone
        })
    );
}

#[test]
fn exact_phone_beats_variant_and_ties_go_to_lowest_id() {
    let cs = [
        cand(2, None, None, &["+551187654321"]),  // variant
        cand(8, None, None, &["+5511987654321"]), // exact
        cand(6, None, None, &["+5511987654321"]), // exact, older
    ];
    let m = match_contact(&cs, &ContactIdentity::from_wa_id(w("5511987654321")));
    assert_eq!(
        m,
        Some(ContactMatch {
            contact_id: ContactId(6),
            by: MatchedBy::Phone
        })
    );
    let m = match_contact(&cs[..1], &ContactIdentity::from_wa_id(w("5511987654321")));
    assert_eq!(
        m,
        Some(ContactMatch {
            contact_id: ContactId(2),
            by: MatchedBy::PhoneVariant
        })
    );
}

#[test]
fn brazil_argentina_mexico_old_wa_ids_find_the_contact() {
    for (stored, incoming) in [
        ("5511987654321", "551187654321"),
        ("551187654321", "5511987654321"),
        ("5491123456789", "541123456789"),
        ("541123456789", "5491123456789"),
        ("5215512345678", "525512345678"),
        ("525512345678", "5215512345678"),
    ] {
        let cs = [cand(1, Some(stored), None, &[])];
        let m = match_contact(&cs, &ContactIdentity::from_wa_id(w(incoming)));
        assert_eq!(
            m.map(|m| m.by),
            Some(MatchedBy::PhoneVariant),
            "{stored} vs {incoming}"
        );
    }
}

#[test]
fn brazilian_landline_never_matches_a_mobile() {
    let cs = [cand(1, None, None, &["+551133334444"])];
    assert_eq!(
        match_contact(&cs, &ContactIdentity::from_wa_id(w("5511933334444"))),
        None
    );
}

#[test]
fn contact_bound_to_another_whatsapp_account_is_not_matched_by_phone() {
    // Same phone field, but bound to another BSUID (a recycled number).
    let cs = [cand(
        1,
        Some("14155550100"),
        Some("US.111"),
        &["+14155550100"],
    )];
    let inc = ContactIdentity {
        wa_id: Some(w("14155550100")),
        bsuid: Some(b("US.999")),
        phone: None,
    };
    assert_eq!(match_contact(&cs, &inc), None);
    // Bound to another, unrelated WhatsApp id.
    let cs = [cand(1, Some("14155550199"), None, &["+14155550100"])];
    assert_eq!(
        match_contact(&cs, &ContactIdentity::from_wa_id(w("14155550100"))),
        None
    );
}

#[test]
fn nothing_matches_an_empty_identity() {
    let cs = [cand(
        1,
        Some("14155550100"),
        Some("US.1"),
        &["+14155550100"],
    )];
    assert_eq!(match_contact(&cs, &ContactIdentity::default()), None);
    assert_eq!(
        match_contact(&[], &ContactIdentity::from_wa_id(w("14155550100"))),
        None
    );
}

#[test]
fn new_contact_takes_profile_name_else_number() {
    let inc = ContactIdentity::from_wa_id(w("14155550100"));
    let n = new_contact(&inc, Some("  Ana   Souza \n"));
    assert_eq!(n.name, "Ana Souza");
    assert_eq!(n.mobile, Some(e("+14155550100")));
    assert_eq!(new_contact(&inc, Some("   ")).name, "+14155550100");
    assert_eq!(new_contact(&inc, None).name, "+14155550100");
    let bs = ContactIdentity {
        bsuid: Some(b("US.42")),
        ..Default::default()
    };
    assert_eq!(new_contact(&bs, None).name, "US.42");
    assert_eq!(new_contact(&bs, None).mobile, None);
}

#[test]
fn profile_name_fills_only_an_empty_name() {
    let inc = ContactIdentity::from_wa_id(w("14155550100"));
    let mut c = cand(1, None, None, &["+14155550100"]);
    let p = fill_contact(&c, &inc, Some("Ana"));
    assert_eq!(p.name.as_deref(), Some("Ana"));
    assert_eq!(p.wa_id, Some(w("14155550100")));
    assert_eq!(p.mobile, None, "the contact already has a phone");
    c.name = "+14155550100".into();
    assert_eq!(
        fill_contact(&c, &inc, Some("Ana")).name.as_deref(),
        Some("Ana")
    );
    c.name = "+1 415 555 0100".into();
    assert_eq!(
        fill_contact(&c, &inc, Some("Ana")).name.as_deref(),
        Some("Ana")
    );
    c.name = "Ana Maria (VIP)".into();
    assert_eq!(fill_contact(&c, &inc, Some("Ana")).name, None);
    c.name = String::new();
    assert_eq!(fill_contact(&c, &inc, None).name, None);
    c.wa_id = Some(w("14155550100"));
    c.name = "Ana".into();
    assert!(fill_contact(&c, &inc, Some("Ana")).is_empty());
}

#[test]
fn number_change_moves_the_contact_and_notes_it() {
    let cs = [cand(4, Some("14155550100"), None, &["+14155550100"])];
    let d = decide_number_change(&cs, &w("14155550100"), &w("14155550199")).expect("decision");
    assert_eq!(d.contact_id, ContactId(4));
    assert_eq!(d.new_wa_id, w("14155550199"));
    assert_eq!(d.old_phone, e("+14155550100"));
    assert_eq!(d.new_phone, e("+14155550199"));
    assert_eq!(d.other_contact_with_new_number, None);
    assert_eq!(
        d.note,
        "The customer changed their WhatsApp number from +14155550100 to +14155550199. The contact now uses the new number."
    );
}

#[test]
fn number_change_names_an_existing_contact_of_the_new_number() {
    let cs = [
        cand(4, Some("14155550100"), None, &[]),
        cand(9, None, None, &["+14155550199"]),
    ];
    let d = decide_number_change(&cs, &w("14155550100"), &w("14155550199")).expect("decision");
    assert_eq!(d.contact_id, ContactId(4));
    assert_eq!(d.other_contact_with_new_number, Some(ContactId(9)));
    assert!(d.note.contains("Contact 9 already has the new number"));
}

#[test]
fn number_change_for_an_unknown_number_does_nothing() {
    let cs = [cand(4, Some("14155550100"), None, &[])];
    assert_eq!(
        decide_number_change(&cs, &w("14155550111"), &w("14155550199")),
        None
    );
}
