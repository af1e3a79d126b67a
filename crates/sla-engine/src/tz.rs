//! Time-zone lookup: IANA names, and the Rails-style names Freshdesk uses (`Eastern Time (US & Canada)`).
//!
//! Only jiff's bundled copy of the IANA database is consulted, so results are the same on every
//! machine and no file is read.

use crate::error::{ErrorCode, SlaError};
use jiff::tz::{TimeZone, TimeZoneDatabase};
use std::sync::OnceLock;

fn db() -> &'static TimeZoneDatabase {
    static DB: OnceLock<TimeZoneDatabase> = OnceLock::new();
    DB.get_or_init(TimeZoneDatabase::bundled)
}

/// Freshdesk (a Rails application) names time zones as Rails' `ActiveSupport::TimeZone` does.
/// SOURCE: `ActiveSupport::TimeZone::MAPPING` (rails/rails, activesupport/lib/active_support/values/time_zone.rb).
pub(crate) const FRESHDESK_ZONES: &[(&str, &str)] = &[
    ("International Date Line West", "Etc/GMT+12"),
    ("Midway Island", "Pacific/Midway"),
    ("American Samoa", "Pacific/Pago_Pago"),
    ("Hawaii", "Pacific/Honolulu"),
    ("Alaska", "America/Juneau"),
    ("Pacific Time (US & Canada)", "America/Los_Angeles"),
    ("Tijuana", "America/Tijuana"),
    ("Mountain Time (US & Canada)", "America/Denver"),
    ("Arizona", "America/Phoenix"),
    ("Chihuahua", "America/Chihuahua"),
    ("Mazatlan", "America/Mazatlan"),
    ("Central Time (US & Canada)", "America/Chicago"),
    ("Saskatchewan", "America/Regina"),
    ("Guadalajara", "America/Mexico_City"),
    ("Mexico City", "America/Mexico_City"),
    ("Monterrey", "America/Monterrey"),
    ("Central America", "America/Guatemala"),
    ("Eastern Time (US & Canada)", "America/New_York"),
    ("Indiana (East)", "America/Indiana/Indianapolis"),
    ("Bogota", "America/Bogota"),
    ("Lima", "America/Lima"),
    ("Quito", "America/Lima"),
    ("Atlantic Time (Canada)", "America/Halifax"),
    ("Caracas", "America/Caracas"),
    ("La Paz", "America/La_Paz"),
    ("Santiago", "America/Santiago"),
    ("Newfoundland", "America/St_Johns"),
    ("Brasilia", "America/Sao_Paulo"),
    ("Buenos Aires", "America/Argentina/Buenos_Aires"),
    ("Montevideo", "America/Montevideo"),
    ("Georgetown", "America/Guyana"),
    ("Puerto Rico", "America/Puerto_Rico"),
    ("Greenland", "America/Nuuk"),
    ("Mid-Atlantic", "Atlantic/South_Georgia"),
    ("Azores", "Atlantic/Azores"),
    ("Cape Verde Is.", "Atlantic/Cape_Verde"),
    ("Dublin", "Europe/Dublin"),
    ("Edinburgh", "Europe/London"),
    ("Lisbon", "Europe/Lisbon"),
    ("London", "Europe/London"),
    ("Casablanca", "Africa/Casablanca"),
    ("Monrovia", "Africa/Monrovia"),
    ("UTC", "Etc/UTC"),
    ("Belgrade", "Europe/Belgrade"),
    ("Bratislava", "Europe/Bratislava"),
    ("Budapest", "Europe/Budapest"),
    ("Ljubljana", "Europe/Ljubljana"),
    ("Prague", "Europe/Prague"),
    ("Sarajevo", "Europe/Sarajevo"),
    ("Skopje", "Europe/Skopje"),
    ("Warsaw", "Europe/Warsaw"),
    ("Zagreb", "Europe/Zagreb"),
    ("Brussels", "Europe/Brussels"),
    ("Copenhagen", "Europe/Copenhagen"),
    ("Madrid", "Europe/Madrid"),
    ("Paris", "Europe/Paris"),
    ("Amsterdam", "Europe/Amsterdam"),
    ("Berlin", "Europe/Berlin"),
    ("Bern", "Europe/Zurich"),
    ("Zurich", "Europe/Zurich"),
    ("Rome", "Europe/Rome"),
    ("Stockholm", "Europe/Stockholm"),
    ("Vienna", "Europe/Vienna"),
    ("West Central Africa", "Africa/Algiers"),
    ("Bucharest", "Europe/Bucharest"),
    ("Cairo", "Africa/Cairo"),
    ("Helsinki", "Europe/Helsinki"),
    ("Kyiv", "Europe/Kyiv"),
    ("Riga", "Europe/Riga"),
    ("Sofia", "Europe/Sofia"),
    ("Tallinn", "Europe/Tallinn"),
    ("Vilnius", "Europe/Vilnius"),
    ("Athens", "Europe/Athens"),
    ("Istanbul", "Europe/Istanbul"),
    ("Minsk", "Europe/Minsk"),
    ("Jerusalem", "Asia/Jerusalem"),
    ("Harare", "Africa/Harare"),
    ("Pretoria", "Africa/Johannesburg"),
    ("Kaliningrad", "Europe/Kaliningrad"),
    ("Moscow", "Europe/Moscow"),
    ("St. Petersburg", "Europe/Moscow"),
    ("Volgograd", "Europe/Volgograd"),
    ("Samara", "Europe/Samara"),
    ("Kuwait", "Asia/Kuwait"),
    ("Riyadh", "Asia/Riyadh"),
    ("Nairobi", "Africa/Nairobi"),
    ("Baghdad", "Asia/Baghdad"),
    ("Tehran", "Asia/Tehran"),
    ("Abu Dhabi", "Asia/Muscat"),
    ("Muscat", "Asia/Muscat"),
    ("Baku", "Asia/Baku"),
    ("Tbilisi", "Asia/Tbilisi"),
    ("Yerevan", "Asia/Yerevan"),
    ("Kabul", "Asia/Kabul"),
    ("Ekaterinburg", "Asia/Yekaterinburg"),
    ("Islamabad", "Asia/Karachi"),
    ("Karachi", "Asia/Karachi"),
    ("Tashkent", "Asia/Tashkent"),
    ("Chennai", "Asia/Kolkata"),
    ("Kolkata", "Asia/Kolkata"),
    ("Mumbai", "Asia/Kolkata"),
    ("New Delhi", "Asia/Kolkata"),
    ("Kathmandu", "Asia/Kathmandu"),
    ("Astana", "Asia/Almaty"),
    ("Dhaka", "Asia/Dhaka"),
    ("Sri Jayawardenepura", "Asia/Colombo"),
    ("Almaty", "Asia/Almaty"),
    ("Novosibirsk", "Asia/Novosibirsk"),
    ("Rangoon", "Asia/Yangon"),
    ("Bangkok", "Asia/Bangkok"),
    ("Hanoi", "Asia/Bangkok"),
    ("Jakarta", "Asia/Jakarta"),
    ("Krasnoyarsk", "Asia/Krasnoyarsk"),
    ("Beijing", "Asia/Shanghai"),
    ("Chongqing", "Asia/Chongqing"),
    ("Hong Kong", "Asia/Hong_Kong"),
    ("Urumqi", "Asia/Urumqi"),
    ("Kuala Lumpur", "Asia/Kuala_Lumpur"),
    ("Singapore", "Asia/Singapore"),
    ("Taipei", "Asia/Taipei"),
    ("Perth", "Australia/Perth"),
    ("Irkutsk", "Asia/Irkutsk"),
    ("Ulaanbaatar", "Asia/Ulaanbaatar"),
    ("Seoul", "Asia/Seoul"),
    ("Osaka", "Asia/Tokyo"),
    ("Sapporo", "Asia/Tokyo"),
    ("Tokyo", "Asia/Tokyo"),
    ("Yakutsk", "Asia/Yakutsk"),
    ("Darwin", "Australia/Darwin"),
    ("Adelaide", "Australia/Adelaide"),
    ("Canberra", "Australia/Melbourne"),
    ("Melbourne", "Australia/Melbourne"),
    ("Sydney", "Australia/Sydney"),
    ("Brisbane", "Australia/Brisbane"),
    ("Hobart", "Australia/Hobart"),
    ("Vladivostok", "Asia/Vladivostok"),
    ("Guam", "Pacific/Guam"),
    ("Port Moresby", "Pacific/Port_Moresby"),
    ("Magadan", "Asia/Magadan"),
    ("Srednekolymsk", "Asia/Srednekolymsk"),
    ("Solomon Is.", "Pacific/Guadalcanal"),
    ("New Caledonia", "Pacific/Noumea"),
    ("Fiji", "Pacific/Fiji"),
    ("Kamchatka", "Asia/Kamchatka"),
    ("Marshall Is.", "Pacific/Majuro"),
    ("Auckland", "Pacific/Auckland"),
    ("Wellington", "Pacific/Auckland"),
    ("Nuku'alofa", "Pacific/Tongatapu"),
    ("Tokelau Is.", "Pacific/Fakaofo"),
    ("Chatham Is.", "Pacific/Chatham"),
    ("Samoa", "Pacific/Apia"),
];

/// Strips a leading `(GMT-05:00) ` as Freshdesk's UI shows it.
fn strip_gmt_prefix(name: &str) -> &str {
    let t = name.trim();
    if let Some(rest) = t.strip_prefix('(')
        && let Some(close) = rest.find(')')
        && rest[..close].starts_with("GMT")
    {
        return rest[close + 1..].trim();
    }
    t
}

/// Maps a Freshdesk time-zone name to its IANA name; IANA names are returned unchanged.
/// Matching of Freshdesk names is case-insensitive and ignores a `(GMT±hh:mm) ` prefix.
pub fn iana_name_for(name: &str) -> &str {
    let bare = strip_gmt_prefix(name);
    FRESHDESK_ZONES
        .iter()
        .find(|(fd, _)| fd.eq_ignore_ascii_case(bare))
        .map(|(_, iana)| *iana)
        .unwrap_or(bare)
}

/// Resolves a time-zone name (IANA, or a Freshdesk name) against the bundled database.
/// Returns the canonical IANA name to store and the zone.
pub(crate) fn resolve(field: &str, name: &str) -> Result<(String, TimeZone), SlaError> {
    let iana = iana_name_for(name);
    let tz = db().get(iana).map_err(|_| {
        SlaError::invalid(
            field,
            ErrorCode::InvalidValue,
            format!("unknown time zone {name:?}: use an IANA name such as America/New_York or a Freshdesk name such as \"Eastern Time (US & Canada)\""),
        )
    })?;
    let stored = tz.iana_name().unwrap_or(iana).to_owned();
    Ok((stored, tz))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_freshdesk_name_resolves_in_the_bundled_database() {
        for (fd, iana) in FRESHDESK_ZONES {
            let (name, _) = resolve("time_zone", fd).unwrap_or_else(|e| panic!("{fd}: {e}"));
            assert_eq!(&name, iana, "{fd}");
        }
    }

    #[test]
    fn names_resolve_case_insensitively_and_with_gmt_prefix() {
        assert_eq!(
            iana_name_for("Eastern Time (US & Canada)"),
            "America/New_York"
        );
        assert_eq!(
            iana_name_for("eastern time (us & canada)"),
            "America/New_York"
        );
        assert_eq!(
            iana_name_for("(GMT-05:00) Eastern Time (US & Canada)"),
            "America/New_York"
        );
        assert_eq!(iana_name_for("Chennai"), "Asia/Kolkata");
        assert_eq!(iana_name_for("Europe/London"), "Europe/London");
        assert_eq!(
            resolve("time_zone", "europe/london").map(|r| r.0),
            Ok("Europe/London".to_owned())
        );
    }

    #[test]
    fn unknown_zone_names_the_field() {
        let err = resolve("time_zone", "Mars/Olympus").err();
        assert_eq!(err.as_ref().and_then(SlaError::field), Some("time_zone"));
        assert_eq!(err.and_then(|e| e.code()), Some(ErrorCode::InvalidValue));
    }
}
