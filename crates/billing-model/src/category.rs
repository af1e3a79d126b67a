//! Pricing categories and models, named as Meta names them.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::BillingError;

/// A pricing category, as Meta names it in `conversation.origin.type` and `pricing.category`.
///
/// `business_initiated` and `user_initiated` are the two categories of conversation-based
/// pricing before June 2023; `marketing`, `utility`, `authentication` and `service` replaced
/// them. `referral_conversion` is a free entry-point conversation (or message, per-message era).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// Legacy (before June 2023): a conversation the business opened with a template.
    BusinessInitiated,
    /// Legacy (before June 2023): the business replied inside the customer service window.
    UserInitiated,
    /// A free entry point (click-to-WhatsApp ad or Facebook Page button).
    ReferralConversion,
    /// Marketing template.
    Marketing,
    /// Marketing template sent through the Marketing Messages API.
    MarketingLite,
    /// Utility template.
    Utility,
    /// Authentication template.
    Authentication,
    /// Authentication template to a user in another country, where Meta applies
    /// authentication-international rates.
    AuthenticationInternational,
    /// Non-template (free-form) message, or a service conversation.
    Service,
}

impl Category {
    /// Every category, in a stable order.
    pub const ALL: [Category; 9] = [
        Category::BusinessInitiated,
        Category::UserInitiated,
        Category::ReferralConversion,
        Category::Marketing,
        Category::MarketingLite,
        Category::Utility,
        Category::Authentication,
        Category::AuthenticationInternational,
        Category::Service,
    ];

    /// Meta's name (`authentication_international` with an underscore).
    pub const fn as_str(&self) -> &'static str {
        match self {
            Category::BusinessInitiated => "business_initiated",
            Category::UserInitiated => "user_initiated",
            Category::ReferralConversion => "referral_conversion",
            Category::Marketing => "marketing",
            Category::MarketingLite => "marketing_lite",
            Category::Utility => "utility",
            Category::Authentication => "authentication",
            Category::AuthenticationInternational => "authentication_international",
            Category::Service => "service",
        }
    }

    /// Whether a template of this category is a template at all (everything but `service`,
    /// `user_initiated` and `referral_conversion`).
    pub const fn is_template(&self) -> bool {
        !matches!(
            self,
            Category::Service | Category::UserInitiated | Category::ReferralConversion
        )
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Accepts Meta's spellings, case-insensitively: `authentication-international` (the `pricing`
/// object's hyphen) as well as the underscore, `customer_initiated` for `user_initiated`, and
/// upper case (`UTILITY`, as in template and tier webhooks).
impl FromStr for Category {
    type Err = BillingError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let norm = s.trim().to_ascii_lowercase().replace('-', "_");
        Ok(match norm.as_str() {
            "business_initiated" => Category::BusinessInitiated,
            "user_initiated" | "customer_initiated" => Category::UserInitiated,
            "referral_conversion" => Category::ReferralConversion,
            "marketing" => Category::Marketing,
            "marketing_lite" => Category::MarketingLite,
            "utility" => Category::Utility,
            "authentication" => Category::Authentication,
            "authentication_international" => Category::AuthenticationInternational,
            "service" => Category::Service,
            _ => return Err(BillingError::UnknownCategory(s.to_owned())),
        })
    }
}

/// How Meta prices: per 24-hour conversation (`CBP`) or per delivered message (`PMP`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum PricingModel {
    /// Conversation-based pricing (until 30 June 2025).
    #[serde(rename = "CBP")]
    Cbp,
    /// Per-message pricing (from 1 July 2025).
    #[serde(rename = "PMP")]
    Pmp,
}

impl PricingModel {
    /// `CBP` or `PMP`.
    pub const fn as_str(&self) -> &'static str {
        match self {
            PricingModel::Cbp => "CBP",
            PricingModel::Pmp => "PMP",
        }
    }
}

impl fmt::Display for PricingModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for PricingModel {
    type Err = BillingError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_uppercase().as_str() {
            "CBP" => Ok(PricingModel::Cbp),
            "PMP" => Ok(PricingModel::Pmp),
            _ => Err(BillingError::UnknownCategory(s.to_owned())),
        }
    }
}

/// What the business sent, as the sender knows it (from its own send records).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    /// A non-template message (text, media, interactive…): only possible inside the customer
    /// service window, priced as `service`.
    FreeForm,
    /// An approved template of a category (`marketing`, `utility`, `authentication`, …).
    Template(Category),
}

/// `pricing.type` of a per-message-pricing status webhook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MetaPricingType {
    /// Billable.
    Regular,
    /// Free: a non-template message, or a utility template, inside the customer service window.
    FreeCustomerService,
    /// Free: inside a 72-hour free entry-point window.
    FreeEntryPoint,
}

impl FromStr for MetaPricingType {
    type Err = BillingError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "regular" => Ok(MetaPricingType::Regular),
            "free_customer_service" => Ok(MetaPricingType::FreeCustomerService),
            "free_entry_point" => Ok(MetaPricingType::FreeEntryPoint),
            _ => Err(BillingError::UnknownCategory(s.to_owned())),
        }
    }
}

/// Meta's `pricing` object of a status webhook, each field as given (absent = `None`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
pub struct MetaPricing {
    /// `pricing.billable` (to be deprecated by Meta; `kind` takes precedence).
    pub billable: Option<bool>,
    /// `pricing.pricing_model`.
    pub model: Option<PricingModel>,
    /// `pricing.type` (per-message pricing).
    pub kind: Option<MetaPricingType>,
    /// `pricing.category`.
    pub category: Option<Category>,
}

impl MetaPricing {
    /// Whether Meta says the message (or conversation) is billable: `type` first, then `billable`.
    pub fn is_billable(&self) -> Option<bool> {
        match self.kind {
            Some(MetaPricingType::Regular) => Some(true),
            Some(_) => Some(false),
            None => self.billable,
        }
    }
}

/// Meta's `conversation` object of a status webhook.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct MetaConversation {
    /// `conversation.id`.
    pub id: String,
    /// `conversation.origin.type`.
    pub origin: Option<Category>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_spellings() {
        assert_eq!(
            "authentication-international".parse::<Category>().unwrap(),
            Category::AuthenticationInternational
        );
        assert_eq!("UTILITY".parse::<Category>().unwrap(), Category::Utility);
        assert_eq!(
            "customer_initiated".parse::<Category>().unwrap(),
            Category::UserInitiated
        );
        assert!("promo".parse::<Category>().is_err());
        for c in Category::ALL {
            assert_eq!(c.as_str().parse::<Category>().unwrap(), c);
            assert_eq!(
                serde_json::to_string(&c).unwrap(),
                format!("\"{}\"", c.as_str())
            );
        }
    }

    #[test]
    fn billable_prefers_type() {
        let p = MetaPricing {
            billable: Some(true),
            kind: Some(MetaPricingType::FreeCustomerService),
            ..MetaPricing::default()
        };
        assert_eq!(p.is_billable(), Some(false));
        let p = MetaPricing {
            billable: Some(false),
            ..MetaPricing::default()
        };
        assert_eq!(p.is_billable(), Some(false));
        assert_eq!(MetaPricing::default().is_billable(), None);
    }
}
