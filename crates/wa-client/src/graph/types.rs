//! Response and request objects of the media, template, phone number and business profile endpoints.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

/// `GET /{media-id}`: where to download a media object (the URL lives 5 minutes) and how to check it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MediaMetadata {
    /// The media id.
    pub id: String,
    /// Download URL; requires the bearer token; expires after 5 minutes.
    pub url: String,
    /// MIME type.
    pub mime_type: String,
    /// SHA-256 of the file as Meta reports it (hex in current responses; treat as opaque).
    pub sha256: String,
    /// Size in bytes (Meta sends a string).
    #[serde(deserialize_with = "u64_from_string_or_number")]
    pub file_size: u64,
    /// Always `"whatsapp"`.
    #[serde(default)]
    pub messaging_product: String,
}

fn u64_from_string_or_number<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    match Value::deserialize(deserializer)? {
        Value::Number(n) => n
            .as_u64()
            .ok_or_else(|| serde::de::Error::custom("file_size is not a u64")),
        Value::String(s) => s.parse().map_err(serde::de::Error::custom),
        _ => Err(serde::de::Error::custom(
            "file_size is neither a string nor a number",
        )),
    }
}

/// A downloaded media file.
#[derive(Debug, Clone, PartialEq)]
pub struct DownloadedMedia {
    /// The bytes.
    pub bytes: bytes::Bytes,
    /// The `Content-Type` header, if any.
    pub content_type: Option<String>,
}

/// One message template as `GET /{waba-id}/message_templates` lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageTemplate {
    /// Template id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Language code.
    pub language: String,
    /// `APPROVED`, `PENDING`, `REJECTED`, `PAUSED`, `DISABLED`, ...
    pub status: String,
    /// `MARKETING`, `UTILITY`, `AUTHENTICATION`.
    #[serde(default)]
    pub category: String,
    /// `POSITIONAL` or `NAMED` (absent means positional).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameter_format: Option<String>,
    /// Components (`HEADER`, `BODY`, `FOOTER`, `BUTTONS`) as Meta returns them.
    #[serde(default)]
    pub components: Vec<Value>,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A page of templates.
#[derive(Debug, Clone, PartialEq)]
pub struct TemplatePage {
    /// The templates on this page.
    pub data: Vec<MessageTemplate>,
    /// Cursor for the next page (`paging.cursors.after`), present only when `paging.next` says there is one.
    pub next_after: Option<String>,
}

/// `request_code`'s `code_method`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeMethod {
    /// By SMS.
    Sms,
    /// By voice call.
    Voice,
}

impl CodeMethod {
    /// `"SMS"` or `"VOICE"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sms => "SMS",
            Self::Voice => "VOICE",
        }
    }
}

/// `GET /{phone-number-id}`: a business phone number's fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhoneNumberInfo {
    /// Phone number id.
    pub id: String,
    /// Display number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_phone_number: Option<String>,
    /// Verified display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified_name: Option<String>,
    /// `VERIFIED`, `NOT_VERIFIED`, `EXPIRED`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_verification_status: Option<String>,
    /// `GREEN`, `YELLOW`, `RED`, `NA`, `UNKNOWN`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quality_rating: Option<String>,
    /// `CONNECTED` is required to send.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Display name review state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_status: Option<String>,
    /// `CLOUD_API`, `ON_PREMISE`, `NOT_APPLICABLE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform_type: Option<String>,
    /// Other fields (`throughput`, `webhook_configuration`, ...).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The business profile (`GET /{phone-number-id}/whatsapp_business_profile`, `data[0]`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BusinessProfile {
    /// "About" text (1 to 139 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub about: Option<String>,
    /// Address (max 256).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// Description (max 512).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Email (max 128).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Profile picture URL (read-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile_picture_url: Option<String>,
    /// Websites (max 2, 256 characters each, with scheme).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub websites: Option<Vec<String>>,
    /// Industry (`RETAIL`, `OTHER`, ... or empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vertical: Option<String>,
    /// Other fields (`messaging_product`, ...).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Fields to change with `POST /{phone-number-id}/whatsapp_business_profile` (absent fields are left alone).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BusinessProfileUpdate {
    /// "About" text (1 to 139 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub about: Option<String>,
    /// Address (max 256).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// Description (max 512).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Email (max 128, valid format).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Websites (max 2, 256 characters each, `http://` or `https://`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub websites: Option<Vec<String>>,
    /// Industry: empty or one of [`VERTICALS`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vertical: Option<String>,
    /// A resumable-upload handle for the profile picture.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile_picture_handle: Option<String>,
}

/// The `vertical` values Meta documents.
pub const VERTICALS: [&str; 19] = [
    "UNDEFINED",
    "OTHER",
    "AUTO",
    "BEAUTY",
    "APPAREL",
    "EDU",
    "ENTERTAIN",
    "EVENT_PLAN",
    "FINANCE",
    "GROCERY",
    "GOVT",
    "HOTEL",
    "HEALTH",
    "NONPROFIT",
    "PROF_SERVICES",
    "RETAIL",
    "TRAVEL",
    "RESTAURANT",
    "NOT_A_BIZ",
];

/// A business profile field that breaks Meta's limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileFieldError {
    /// The field, e.g. `"about"`, `"websites"`.
    pub field: &'static str,
    /// Why, in words.
    pub message: String,
}

impl BusinessProfileUpdate {
    /// Checks Meta's documented limits: `about` 1..=139 characters, `address` 256, `description` 512, `email` 128
    /// and an address shape, at most 2 `websites` of at most 256 characters starting with `http://` or `https://`,
    /// `vertical` empty or a known value. Returns every violation.
    pub fn validate(&self) -> Vec<ProfileFieldError> {
        let mut errors = Vec::new();
        let mut max = |field: &'static str, value: &Option<String>, limit: usize| {
            if let Some(v) = value
                && v.chars().count() > limit
            {
                errors.push(ProfileFieldError {
                    field,
                    message: format!("must be at most {limit} characters"),
                });
            }
        };
        max("about", &self.about, 139);
        max("address", &self.address, 256);
        max("description", &self.description, 512);
        max("email", &self.email, 128);
        if let Some(about) = &self.about
            && about.trim().is_empty()
        {
            errors.push(ProfileFieldError {
                field: "about",
                message: "cannot be empty".into(),
            });
        }
        if let Some(email) = &self.email
            && !looks_like_email(email)
        {
            errors.push(ProfileFieldError {
                field: "email",
                message: "is not a valid email address".into(),
            });
        }
        if let Some(websites) = &self.websites {
            if websites.len() > 2 {
                errors.push(ProfileFieldError {
                    field: "websites",
                    message: "at most 2 websites".into(),
                });
            }
            for site in websites {
                if site.chars().count() > 256 {
                    errors.push(ProfileFieldError {
                        field: "websites",
                        message: "each website must be at most 256 characters".into(),
                    });
                }
                if !(site.starts_with("http://") || site.starts_with("https://")) {
                    errors.push(ProfileFieldError {
                        field: "websites",
                        message: "each website must start with http:// or https://".into(),
                    });
                }
            }
        }
        if let Some(vertical) = &self.vertical
            && !vertical.is_empty()
            && !VERTICALS.contains(&vertical.as_str())
        {
            errors.push(ProfileFieldError {
                field: "vertical",
                message: format!("unknown vertical {vertical:?}"),
            });
        }
        errors
    }
}

fn looks_like_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !email.chars().any(char::is_whitespace)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_limits_name_the_field() {
        let ok = BusinessProfileUpdate {
            about: Some("a".repeat(139)),
            websites: Some(vec!["https://a.example".into()]),
            vertical: Some("RETAIL".into()),
            email: Some("x@y.example".into()),
            ..Default::default()
        };
        assert!(ok.validate().is_empty());
        let bad = BusinessProfileUpdate {
            about: Some("a".repeat(140)),
            websites: Some(vec![
                "a.example".into(),
                "https://b".into(),
                "https://c".into(),
            ]),
            vertical: Some("SPACESHIPS".into()),
            email: Some("nope".into()),
            ..Default::default()
        };
        let fields: Vec<_> = bad.validate().iter().map(|e| e.field).collect();
        assert_eq!(
            fields,
            vec!["about", "email", "websites", "websites", "vertical"]
        );
    }

    #[test]
    fn file_size_string_or_number() {
        let m: MediaMetadata = serde_json::from_str(
            r#"{"file_size":"303833","id":"1","messaging_product":"whatsapp","mime_type":"image/jpeg","sha256":"h","url":"u"}"#,
        )
        .unwrap();
        assert_eq!(m.file_size, 303_833);
        let m: MediaMetadata = serde_json::from_str(
            r#"{"file_size":7,"id":"1","mime_type":"a","sha256":"h","url":"u"}"#,
        )
        .unwrap();
        assert_eq!(m.file_size, 7);
    }
}
