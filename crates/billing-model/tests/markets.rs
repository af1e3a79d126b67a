//! Market lookup: longest prefix first, NANP area codes, dated changes.
#![allow(clippy::unwrap_used)] // helpers outside #[test] functions unwrap too

use billing_model::*;
use time::macros::date;

fn market(number: &str, day: time::Date) -> String {
    MarketTable::meta()
        .market_of(number, day)
        .unwrap()
        .as_str()
        .to_owned()
}

#[test]
fn plus_one_area_codes() {
    let d = date!(2026 - 03 - 01);
    // Dominican Republic: all three area codes.
    for n in ["+1 809 555 0100", "+1 829 555 0100", "+1 849 555 0100"] {
        assert_eq!(market(n, d), "Rest of Latin America", "{n}");
    }
    // Puerto Rico and Jamaica.
    for n in ["17875550100", "19395550100", "18765550100", "16585550100"] {
        assert_eq!(market(n, d), "Rest of Latin America", "{n}");
    }
    // United States, Canada, and Caribbean +1 members Meta does not list (Bahamas 242).
    for n in [
        "+1 650 555 1234",
        "+1 416 555 0100",
        "+1 242 555 0100",
        "18085550100",
    ] {
        assert_eq!(market(n, d), "North America", "{n}");
    }
}

#[test]
fn plus_seven_and_plus_forty_four() {
    let d = date!(2026 - 03 - 01);
    assert_eq!(market("+7 495 123 4567", d), "Russia");
    // Kazakhstan shares +7; Meta lists only Russia for 7.
    assert_eq!(market("+7 701 123 4567", d), "Russia");
    assert_eq!(market("+44 20 7946 0958", d), "United Kingdom");
    // Crown dependencies dial +44 too.
    assert_eq!(market("+44 1481 123456", d), "United Kingdom");
    // +4x neighbours are different markets.
    assert_eq!(market("+43 1 234567", d), "Rest of Western Europe");
    assert_eq!(
        market("+48 22 123 4567", d),
        "Rest of Central & Eastern Europe"
    );
    assert_eq!(market("+49 30 123456", d), "Germany");
}

#[test]
fn longest_prefix_wins() {
    let d = date!(2026 - 03 - 01);
    assert_eq!(market("+971 50 123 4567", d), "United Arab Emirates");
    assert_eq!(market("+972 50 123 4567", d), "Israel");
    assert_eq!(market("+973 3600 0000", d), "Rest of Middle East");
    assert_eq!(market("+20 10 1234 5678", d), "Egypt");
    assert_eq!(market("+211 912 345 678", d), "Rest of Africa");
    assert_eq!(market("+212 612 345678", d), "Rest of Africa");
    assert_eq!(market("+351 912 345 678", d), "Rest of Western Europe");
    assert_eq!(
        market("+359 88 123 4567", d),
        "Rest of Central & Eastern Europe"
    );
    assert_eq!(market("+880 1712 345678", d), "Rest of Asia Pacific");
    assert_eq!(market("+591 7123 4567", d), "Rest of Latin America");
    assert_eq!(market("+55 11 91234 5678", d), "Brazil");
    // Unlisted countries are Other: Iceland 354, Iran 98, Cuba 53.
    for n in ["+354 555 1234", "+98 912 345 6789", "+53 5 123 4567"] {
        assert_eq!(market(n, d), "Other", "{n}");
    }
}

#[test]
fn dated_changes() {
    // Zimbabwe moved from Other to Rest of Africa on 2025-10-01.
    assert_eq!(market("+263 77 123 4567", date!(2025 - 09 - 30)), "Other");
    assert_eq!(
        market("+263 77 123 4567", date!(2025 - 10 - 01)),
        "Rest of Africa"
    );
    // Six standalone markets from 2026-07-01.
    let cases = [
        ("+852 5123 4567", "Rest of Asia Pacific", "Hong Kong"),
        ("+65 8123 4567", "Rest of Asia Pacific", "Singapore"),
        (
            "+36 20 123 4567",
            "Rest of Central & Eastern Europe",
            "Hungary",
        ),
        (
            "+48 512 345 678",
            "Rest of Central & Eastern Europe",
            "Poland",
        ),
        (
            "+40 712 345 678",
            "Rest of Central & Eastern Europe",
            "Romania",
        ),
        ("+974 3312 3456", "Rest of Middle East", "Qatar"),
    ];
    for (n, before, after) in cases {
        assert_eq!(market(n, date!(2026 - 06 - 30)), before, "{n}");
        assert_eq!(market(n, date!(2026 - 07 - 01)), after, "{n}");
    }
}

#[test]
fn number_formats() {
    let d = date!(2026 - 03 - 01);
    assert_eq!(market("0044 20 7946 0958", d), "United Kingdom");
    assert_eq!(market("(+91) 98765-43210", d), "India");
    assert!(
        MarketTable::meta()
            .market_of("US.13491208655302741918", d)
            .is_err()
    );
    assert!(MarketTable::meta().market_of("", d).is_err());
    assert!(MarketTable::meta().market_of("+0 123", d).is_err());
    assert!(
        MarketTable::meta()
            .market_of("1234567890123456", d)
            .is_err()
    );
}

#[test]
fn custom_table_is_data() {
    let t = MarketTable::parse(
        "prefix,market,from,until\n1,North America,,\n1684,Rest of Asia Pacific,2027-01-01,\n",
    )
    .unwrap();
    assert_eq!(
        t.market_of("+1 684 555 0100", date!(2026 - 12 - 31))
            .unwrap(),
        Market::NORTH_AMERICA
    );
    assert_eq!(
        t.market_of("+1 684 555 0100", date!(2027 - 01 - 01))
            .unwrap()
            .as_str(),
        "Rest of Asia Pacific"
    );
    assert_eq!(
        t.market_of("+44 1", date!(2027 - 01 - 01)).unwrap(),
        Market::OTHER
    );
}
