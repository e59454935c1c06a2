//! Doorstep's domain: the on-site service standard as types and rules.
//!
//! Nothing here touches a disk, a network or a clock: callers pass the time in,
//! so every rule can be tested with any time they like.

#[macro_use]
mod ids;

pub mod change;
pub mod clock;
pub mod customer;
pub mod demo;
pub mod error;
pub mod leads;
pub mod media;
pub mod model;
pub mod phone;
pub mod prices;
pub mod report;
pub mod rules;
pub mod signature;
pub mod view;
pub mod wire;
pub mod words;
pub mod zone;

pub use customer::{
    CustomerStory, OpenComplaint, Product, ProductKind, StoryReplacement, StoryVisit, VipGrade,
};
pub use error::{DomainError, Lang};
pub use model::*;
pub use prices::{
    fees_total_fen, legacy_price_list, validate_fees, PaymentMethod, PaymentReceipt, PriceItem,
    PriceList, PricedAt,
};
