//! Phone numbers: canonical E.164 and the country lookup variants.
//!
//! Hand-rolled, digits-only E.164 handling with the ITU calling-code table, a table of regions
//! for numbers written in national format, and per-country national-number lengths where they
//! are certain. No metadata download, no regex, no I/O.

use super::E164;
use std::fmt;

/// Why a phone number (or a WhatsApp id, or a BSUID) cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    /// Nothing but spaces and punctuation.
    #[error("the phone number is empty")]
    Empty,
    /// A character that has no place in a phone number (letters, extensions, `#`, `*`, …).
    #[error("unexpected character {0:?} in phone number")]
    InvalidCharacter(char),
    /// A `+` that is not at the start.
    #[error("a '+' may only start a phone number")]
    MisplacedPlus,
    /// A number in national format (leading `0`) with no default region to read it in.
    #[error("{0:?} is in national format; a default region is needed to read it")]
    NeedsRegion(String),
    /// A default region this crate has no numbering data for.
    #[error("unknown region {0:?}")]
    UnknownRegion(String),
    /// The digits do not start with an assigned country calling code.
    #[error("+{0} does not start with an assigned country calling code")]
    UnknownCallingCode(String),
    /// Too short or too long, for E.164 (7 to 15 digits) or for the country.
    #[error("+{0} has the wrong number of digits")]
    InvalidLength(String),
    /// Not a WhatsApp id (`^[1-9][0-9]{{6,14}}$`).
    #[error("{0:?} is not a WhatsApp id (7 to 15 digits, no leading zero)")]
    InvalidWaId(String),
    /// Not a business-scoped user id (like `US.13491208655302741918`).
    #[error("{0:?} is not a business-scoped user id")]
    InvalidBsuid(String),
    /// Not in canonical E.164 form (`+` and 7 to 15 digits).
    #[error("{0:?} is not a canonical E.164 number")]
    NotCanonical(String),
}

/// Assigned country calling codes (ITU-T E.164 list, including the global-service codes).
/// Calling codes are prefix-free, so the first match of length 1, 2 or 3 is the code.
const CALLING_CODES: &[u16] = &[
    1, 7, 20, 27, 30, 31, 32, 33, 34, 36, 39, 40, 41, 43, 44, 45, 46, 47, 48, 49, 51, 52, 53, 54,
    55, 56, 57, 58, 60, 61, 62, 63, 64, 65, 66, 81, 82, 84, 86, 90, 91, 92, 93, 94, 95, 98, 211,
    212, 213, 216, 218, 220, 221, 222, 223, 224, 225, 226, 227, 228, 229, 230, 231, 232, 233, 234,
    235, 236, 237, 238, 239, 240, 241, 242, 243, 244, 245, 246, 247, 248, 249, 250, 251, 252, 253,
    254, 255, 256, 257, 258, 260, 261, 262, 263, 264, 265, 266, 267, 268, 269, 290, 291, 297, 298,
    299, 350, 351, 352, 353, 354, 355, 356, 357, 358, 359, 370, 371, 372, 373, 374, 375, 376, 377,
    378, 379, 380, 381, 382, 383, 385, 386, 387, 389, 420, 421, 423, 500, 501, 502, 503, 504, 505,
    506, 507, 508, 509, 590, 591, 592, 593, 594, 595, 596, 597, 598, 599, 670, 672, 673, 674, 675,
    676, 677, 678, 679, 680, 681, 682, 683, 685, 686, 687, 688, 689, 690, 691, 692, 800, 808, 850,
    852, 853, 855, 856, 870, 878, 880, 881, 882, 883, 886, 888, 960, 961, 962, 963, 964, 965, 966,
    967, 968, 970, 971, 972, 973, 974, 975, 976, 977, 979, 992, 993, 994, 995, 996, 998,
];

/// National significant number lengths (min, max) for calling codes where they are settled.
/// Codes not listed only get E.164's own bounds.
const NSN_LENGTHS: &[(u16, usize, usize)] = &[
    (1, 10, 10),  // NANP
    (7, 10, 10),  // Russia, Kazakhstan
    (27, 9, 9),   // South Africa
    (30, 10, 10), // Greece
    (31, 9, 9),   // Netherlands
    (33, 9, 9),   // France
    (34, 9, 9),   // Spain
    (41, 9, 9),   // Switzerland
    (44, 7, 10),  // United Kingdom
    (48, 9, 9),   // Poland
    (52, 10, 11), // Mexico (11 with the old mobile `1`)
    (54, 10, 11), // Argentina (11 with the mobile `9`)
    (55, 10, 11), // Brazil
    (61, 9, 9),   // Australia
    (90, 10, 10), // Turkey
    (91, 10, 10), // India
];

/// How numbers are written nationally in a region.
#[derive(Debug)]
struct Region {
    iso: &'static str,
    code: u16,
    /// National (trunk) prefixes dropped before the national significant number, longest first.
    trunk: &'static [&'static str],
    /// International call prefixes, longest first.
    idd: &'static [&'static str],
}

const NANP_IDD: &[&str] = &["011"];
const ZERO: &[&str] = &["0"];
const NONE: &[&str] = &[];
const OO: &[&str] = &["00"];

macro_rules! regions {
    ($($iso:literal $code:literal $trunk:expr, $idd:expr;)*) => {
        &[$(Region { iso: $iso, code: $code, trunk: $trunk, idd: $idd }),*]
    };
}

/// Regions for national-format input. Brazil (`0` + carrier code) and Argentina (mobile `15`)
/// get extra handling in [`national`].
const REGIONS: &[Region] = regions! {
    "US" 1 &["1"], NANP_IDD; "CA" 1 &["1"], NANP_IDD; "PR" 1 &["1"], NANP_IDD;
    "DO" 1 &["1"], NANP_IDD; "JM" 1 &["1"], NANP_IDD; "TT" 1 &["1"], NANP_IDD;
    "BS" 1 &["1"], NANP_IDD; "BB" 1 &["1"], NANP_IDD;
    "GB" 44 ZERO, OO; "IE" 353 ZERO, OO; "DE" 49 ZERO, OO; "FR" 33 ZERO, OO;
    "ES" 34 NONE, OO; "IT" 39 NONE, OO; "PT" 351 NONE, OO; "NL" 31 ZERO, OO;
    "BE" 32 ZERO, OO; "CH" 41 ZERO, OO; "AT" 43 ZERO, OO; "SE" 46 ZERO, OO;
    "NO" 47 NONE, OO; "DK" 45 NONE, OO; "FI" 358 ZERO, OO; "PL" 48 NONE, OO;
    "CZ" 420 NONE, OO; "GR" 30 NONE, OO; "HU" 36 &["06"], OO; "RO" 40 ZERO, OO;
    "TR" 90 ZERO, OO; "RU" 7 &["8"], &["810", "00"]; "KZ" 7 &["8"], &["810", "00"];
    "UA" 380 ZERO, OO; "IL" 972 ZERO, OO; "AE" 971 ZERO, OO; "SA" 966 ZERO, OO;
    "EG" 20 ZERO, OO; "NG" 234 ZERO, &["009"]; "ZA" 27 ZERO, OO; "KE" 254 ZERO, &["000"];
    "IN" 91 ZERO, OO; "PK" 92 ZERO, OO; "BD" 880 ZERO, OO; "ID" 62 ZERO, &["001", "007", "008"];
    "MY" 60 ZERO, OO; "SG" 65 NONE, &["000", "001"]; "PH" 63 ZERO, OO; "TH" 66 ZERO, &["001"];
    "VN" 84 ZERO, OO; "CN" 86 ZERO, OO; "HK" 852 NONE, &["001"]; "TW" 886 ZERO, &["002"];
    "JP" 81 ZERO, &["010"]; "KR" 82 ZERO, &["001", "002"]; "AU" 61 ZERO, &["0011"]; "NZ" 64 ZERO, OO;
    "BR" 55 ZERO, OO; "AR" 54 ZERO, OO; "MX" 52 &["044", "045", "01"], OO;
    "CO" 57 NONE, &["009", "007", "005"]; "CL" 56 NONE, OO; "PE" 51 ZERO, OO; "VE" 58 ZERO, OO;
    "EC" 593 ZERO, OO; "UY" 598 ZERO, OO; "PY" 595 ZERO, OO; "BO" 591 ZERO, OO;
    "CR" 506 NONE, OO; "PA" 507 NONE, OO; "GT" 502 NONE, OO; "SV" 503 NONE, OO;
    "HN" 504 NONE, OO; "NI" 505 NONE, OO;
};

/// The ISO 3166 region codes [`canonicalize_phone`] can read national-format numbers for.
pub fn supported_regions() -> impl Iterator<Item = &'static str> {
    REGIONS.iter().map(|r| r.iso)
}

fn region(iso: &str) -> Result<&'static Region, PhoneError> {
    let iso_up = iso.trim().to_ascii_uppercase();
    REGIONS
        .iter()
        .find(|r| r.iso == iso_up)
        .ok_or_else(|| PhoneError::UnknownRegion(iso.to_owned()))
}

/// The calling code the digits start with, if assigned.
pub(crate) fn calling_code(digits: &str) -> Option<u16> {
    if digits.starts_with('0') {
        return None;
    }
    (1..=3).filter(|n| *n <= digits.len()).find_map(|n| {
        let code: u16 = digits[..n].parse().ok()?;
        CALLING_CODES.binary_search(&code).ok().map(|_| code)
    })
}

fn nsn_range(code: u16) -> Option<(usize, usize)> {
    NSN_LENGTHS
        .iter()
        .find(|(c, _, _)| *c == code)
        .map(|(_, lo, hi)| (*lo, *hi))
}

fn code_len(code: u16) -> usize {
    code.to_string().len()
}

/// Whether `digits` form an E.164 number for wadesk: `^[1-9][0-9]{6,14}$`, an assigned calling
/// code, and a national number of the country's length where that is settled.
fn international(digits: &str) -> Result<E164, PhoneError> {
    if digits.is_empty() {
        return Err(PhoneError::Empty);
    }
    let code =
        calling_code(digits).ok_or_else(|| PhoneError::UnknownCallingCode(digits.to_owned()))?;
    let mut digits = digits.to_owned();
    // "+44 0 20 …": the national trunk 0 written after the calling code, where numbers never start with 0.
    let cl = code_len(code);
    if REGIONS.iter().any(|r| r.code == code && r.trunk == ZERO) {
        while digits[cl..].starts_with('0') {
            digits.remove(cl);
        }
    }
    if !(7..=15).contains(&digits.len()) {
        return Err(PhoneError::InvalidLength(digits));
    }
    if let Some((lo, hi)) = nsn_range(code)
        && !(lo..=hi).contains(&(digits.len() - cl))
    {
        return Err(PhoneError::InvalidLength(digits));
    }
    Ok(E164(format!("+{digits}")))
}

/// A national number (no international prefix) in `region`.
fn national(digits: &str, region: &Region) -> Result<E164, PhoneError> {
    let code = region.code.to_string();
    let (lo, hi) = nsn_range(region.code).unwrap_or((4, 14));
    let trunk = region.trunk.iter().find(|t| digits.starts_with(**t));
    let mut nsn = match trunk {
        Some(t) => digits[t.len()..].to_owned(),
        None => digits.to_owned(),
    };
    // Written with the calling code but no '+' ("44 20 7946 0958" in GB, "55 11 9…" in BR).
    if trunk.is_none()
        && digits.starts_with(&code)
        && !(lo..=hi).contains(&nsn.len())
        && (lo..=hi).contains(&(digits.len() - code.len()))
    {
        return international(digits);
    }
    match region.iso {
        // 0 + two-digit carrier selection code + DDD + number.
        "BR" if trunk.is_some() && (nsn.len() == 12 || nsn.len() == 13) => {
            nsn.drain(..2);
        }
        // Mobile written nationally as AREA 15 NUMBER; internationally it is 9 AREA NUMBER.
        "AR" if nsn.len() == 12 => {
            let spots: Vec<usize> = [2usize, 3, 4]
                .into_iter()
                .filter(|k| nsn[*k..].starts_with("15"))
                .filter(|k| (*k == 2) == nsn.starts_with("11"))
                .collect();
            if let [k] = spots[..] {
                nsn = format!("9{}{}", &nsn[..k], &nsn[k + 2..]);
            }
        }
        _ => {}
    }
    if nsn.starts_with('0') && region.trunk == ZERO {
        return Err(PhoneError::InvalidLength(format!("{code}{nsn}")));
    }
    international(&format!("{code}{nsn}"))
}

/// Reads a phone number written in any common format and returns it in canonical E.164.
///
/// Accepted: `+1 (415) 555-0100`, `+44 (0)20 7946 0958`, `0044 20 7946 0958`,
/// `14155550100` (a WhatsApp id: digits with the calling code), `tel:+1-415-555-0100`,
/// spaces, dashes, dots, slashes and brackets anywhere. With `default_region` (ISO 3166
/// alpha-2, e.g. `"GB"`), national formats are read too: `020 7946 0958`, `(415) 555-0100`,
/// the region's international prefix (`011` in the US), Brazil's carrier codes
/// (`0 21 11 98765-4321`) and Argentina's mobile `15` (`011 15 2345-6789` becomes
/// `+5491123456789`).
///
/// Without a default region, digits without `+` are read as an international number (as WhatsApp
/// writes ids), `00` is read as the international prefix, and a single leading `0` is an error
/// ([`PhoneError::NeedsRegion`]).
///
/// The function is idempotent: canonicalising its own output returns the same number, whatever
/// the region. It never applies the country lookup variants ([`lookup_variants`]).
pub fn canonicalize_phone(input: &str, default_region: Option<&str>) -> Result<E164, PhoneError> {
    let mut s = input.trim();
    if s.len() >= 4 && s[..4].eq_ignore_ascii_case("tel:") {
        s = &s[4..];
    }
    // tel: URI parameters (";phone-context=…") are not part of the number.
    let s = s.split(';').next().unwrap_or_default().replace("(0)", "");
    let mut digits = String::with_capacity(s.len());
    let mut plus = false;
    for c in s.chars() {
        match c {
            '0'..='9' => digits.push(c),
            '+' if digits.is_empty() && !plus => plus = true,
            '+' => return Err(PhoneError::MisplacedPlus),
            ' ' | '-' | '.' | '(' | ')' | '/' | '\u{a0}' | '\u{2010}'..='\u{2015}' | '\t' => {}
            other => return Err(PhoneError::InvalidCharacter(other)),
        }
    }
    if digits.is_empty() {
        return Err(PhoneError::Empty);
    }
    if plus {
        return international(&digits);
    }
    match default_region {
        Some(iso) => {
            let region = region(iso)?;
            if region.iso == "BR" && digits.starts_with("00") && digits.len() > 4 {
                // Brazil: 00 + two-digit carrier code + international number.
                return international(&digits[4..]);
            }
            if let Some(idd) = region.idd.iter().find(|p| digits.starts_with(**p)) {
                return international(&digits[idd.len()..]);
            }
            national(&digits, region)
        }
        None => {
            if let Some(rest) = digits.strip_prefix("00") {
                international(rest)
            } else if digits.starts_with('0') {
                Err(PhoneError::NeedsRegion(input.trim().to_owned()))
            } else {
                international(&digits)
            }
        }
    }
}

/// The numbers under which the same person may already be known, `number` first.
///
/// These are the country quirks of WhatsApp ids, used **only to find an existing contact**, never
/// to rewrite a WhatsApp id or a stored phone:
///
/// - **Brazil** (`+55`): mobiles gained a ninth digit `9` after the two-digit area code (DDD);
///   WhatsApp ids of older accounts still lack it. `+55 11 98765-4321` ↔ `+55 11 8765-4321`.
///   Only mobile ranges (the eight-digit subscriber number starting with 6–9) get a variant, so a
///   landline (starting with 2–5) never matches a mobile.
/// - **Argentina** (`+54`): mobiles are `+54 9 AREA NUMBER`; the `9` is often missing.
///   `+54 9 11 2345-6789` ↔ `+54 11 2345-6789` (area codes start with 1, 2 or 3).
/// - **Mexico** (`+52`): the mobile `1` after 52 was dropped in 2019; older WhatsApp ids keep
///   it. `+52 1 55 1234 5678` ↔ `+52 55 1234 5678` (area codes never start with 1).
///
/// Every other number has no variant. The relation is symmetric: each variant's variants
/// include the original.
pub fn lookup_variants(number: &E164) -> Vec<E164> {
    let d = number.digits();
    let b = d.as_bytes();
    let mut out = vec![number.clone()];
    let is = |i: usize, lo: u8, hi: u8| b.get(i).is_some_and(|c| (lo..=hi).contains(c));
    let variant = match (d.len(), &d.get(..2)) {
        // Brazil: 55 DD 9 [6-9]xxxxxxx  <->  55 DD [6-9]xxxxxxx
        (13, Some("55"))
            if is(2, b'1', b'9') && is(3, b'1', b'9') && b[4] == b'9' && is(5, b'6', b'9') =>
        {
            Some(format!("{}{}", &d[..4], &d[5..]))
        }
        (12, Some("55")) if is(2, b'1', b'9') && is(3, b'1', b'9') && is(4, b'6', b'9') => {
            Some(format!("{}9{}", &d[..4], &d[4..]))
        }
        // Argentina: 54 9 AREA… <-> 54 AREA…
        (13, Some("54")) if b[2] == b'9' && is(3, b'1', b'3') => Some(format!("54{}", &d[3..])),
        (12, Some("54")) if is(2, b'1', b'3') => Some(format!("549{}", &d[2..])),
        // Mexico: 52 1 AREA… <-> 52 AREA…
        (13, Some("52")) if b[2] == b'1' && is(3, b'2', b'9') => Some(format!("52{}", &d[3..])),
        (12, Some("52")) if is(2, b'2', b'9') => Some(format!("521{}", &d[2..])),
        _ => None,
    };
    if let Some(v) = variant {
        out.push(E164(format!("+{v}")));
    }
    out
}

impl fmt::Display for E164 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str, r: Option<&str>) -> String {
        match canonicalize_phone(s, r) {
            Ok(e) => e.as_str().to_owned(),
            Err(e) => format!("ERR {e}"),
        }
    }

    #[test]
    fn calling_code_table_is_sorted_for_binary_search() {
        assert!(CALLING_CODES.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn common_international_formats() {
        for s in [
            "+1 (415) 555-0100",
            "+1 415.555.0100",
            "+14155550100",
            "14155550100",
            "tel:+1-415-555-0100",
            "TEL:+1-415-555-0100;ext=12",
            "  +1 415 555 0100  ",
            "0014155550100",
            "+1\u{a0}415\u{2011}555\u{2011}0100",
        ] {
            assert_eq!(c(s, None), "+14155550100", "{s}");
        }
        assert_eq!(c("0044 20 7946 0958", None), "+442079460958");
        assert_eq!(c("+44 (0)20 7946 0958", None), "+442079460958");
        assert_eq!(c("+44 020 7946 0958", None), "+442079460958");
        assert_eq!(c("+55 (11) 98765-4321", None), "+5511987654321");
        // Italy keeps its leading zero.
        assert_eq!(c("+39 06 6982 1234", None), "+390669821234");
    }

    #[test]
    fn national_formats_need_a_region() {
        assert_eq!(c("(415) 555-0100", Some("US")), "+14155550100");
        assert_eq!(c("1 415 555 0100", Some("us")), "+14155550100");
        assert_eq!(c("011 44 20 7946 0958", Some("US")), "+442079460958");
        assert_eq!(c("020 7946 0958", Some("GB")), "+442079460958");
        assert_eq!(c("0044 20 7946 0958", Some("GB")), "+442079460958");
        assert_eq!(c("44 20 7946 0958", Some("GB")), "+442079460958");
        assert_eq!(c("06 6982 1234", Some("IT")), "+390669821234");
        assert_eq!(c("8 (912) 345-67-89", Some("RU")), "+79123456789");
        assert_eq!(c("(11) 98765-4321", Some("BR")), "+5511987654321");
        assert_eq!(c("0 21 11 98765-4321", Some("BR")), "+5511987654321");
        assert_eq!(c("011 98765-4321", Some("BR")), "+5511987654321");
        assert_eq!(c("011 15 2345-6789", Some("AR")), "+5491123456789");
        assert_eq!(c("0351 15 234-5678", Some("AR")), "+5493512345678");
        assert_eq!(c("044 55 1234 5678", Some("MX")), "+525512345678");
        assert_eq!(c("55 1234 5678", Some("MX")), "+525512345678");
        // A number with a '+' ignores the region.
        assert_eq!(c("+44 20 7946 0958", Some("US")), "+442079460958");
    }

    #[test]
    fn rejects_what_is_not_a_phone() {
        assert!(matches!(
            canonicalize_phone("", None),
            Err(PhoneError::Empty)
        ));
        assert!(matches!(
            canonicalize_phone(" - ", None),
            Err(PhoneError::Empty)
        ));
        assert!(matches!(
            canonicalize_phone("1-800-FLOWERS", None),
            Err(PhoneError::InvalidCharacter('F'))
        ));
        assert!(matches!(
            canonicalize_phone("+1 415 555 0100 x12", None),
            Err(PhoneError::InvalidCharacter('x'))
        ));
        assert!(matches!(
            canonicalize_phone("1+415", None),
            Err(PhoneError::MisplacedPlus)
        ));
        assert!(matches!(
            canonicalize_phone("020 7946 0958", None),
            Err(PhoneError::NeedsRegion(_))
        ));
        assert!(matches!(
            canonicalize_phone("020 7946 0958", Some("XX")),
            Err(PhoneError::UnknownRegion(_))
        ));
        assert!(matches!(
            canonicalize_phone("+999 1234567", None),
            Err(PhoneError::UnknownCallingCode(_))
        ));
        assert!(matches!(
            canonicalize_phone("+1 415 555 010", None),
            Err(PhoneError::InvalidLength(_))
        ));
        assert!(matches!(
            canonicalize_phone("+12345", None),
            Err(PhoneError::InvalidLength(_))
        ));
        assert!(matches!(
            canonicalize_phone("+4912345678901234", None),
            Err(PhoneError::InvalidLength(_))
        ));
    }

    fn v(s: &str) -> Vec<String> {
        let e = canonicalize_phone(s, None).expect("valid");
        lookup_variants(&e)
            .iter()
            .map(|e| e.as_str().to_owned())
            .collect()
    }

    #[test]
    fn variants_per_country() {
        assert_eq!(v("+5511987654321"), ["+5511987654321", "+551187654321"]);
        assert_eq!(v("+551187654321"), ["+551187654321", "+5511987654321"]);
        // Brazilian landline: no variant.
        assert_eq!(v("+551133334444"), ["+551133334444"]);
        assert_eq!(v("+5491123456789"), ["+5491123456789", "+541123456789"]);
        assert_eq!(v("+541123456789"), ["+541123456789", "+5491123456789"]);
        assert_eq!(v("+5215512345678"), ["+5215512345678", "+525512345678"]);
        assert_eq!(v("+525512345678"), ["+525512345678", "+5215512345678"]);
        assert_eq!(v("+14155550100"), ["+14155550100"]);
        assert_eq!(v("+442079460958"), ["+442079460958"]);
    }
}
