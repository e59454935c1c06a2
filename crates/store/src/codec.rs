//! Enums are stored as their serde names, so the database reads like the JSON.

use serde::{de::DeserializeOwned, Serialize};

use crate::StoreError;

pub fn enum_to_sql<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        other => panic!("not a unit enum: {other:?}"),
    }
}

pub fn enum_from_sql<T: DeserializeOwned>(text: &str) -> Result<T, StoreError> {
    serde_json::from_value(serde_json::Value::String(text.to_string()))
        .map_err(|e| StoreError::Corrupt(format!("{text}: {e}")))
}

pub fn json_to_sql<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("domain records always serialize")
}

pub fn json_from_sql<T: DeserializeOwned>(text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(e.to_string()))
}

pub fn time_from_sql(text: &str) -> Result<doorstep_core::Timestamp, StoreError> {
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|t| t.to_utc())
        .map_err(|e| StoreError::Corrupt(format!("{text}: {e}")))
}

pub fn time_to_sql(time: &doorstep_core::Timestamp) -> String {
    time.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

pub fn id_from_sql<T: std::str::FromStr>(text: &str) -> Result<T, StoreError> {
    text.parse()
        .map_err(|_| StoreError::Corrupt(format!("bad id {text}")))
}
