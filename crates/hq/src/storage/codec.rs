//! Encodings both backends share: enums as the text serde gives them, the
//! same text the wire and the console use.

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{HqError, HqResult};

pub fn enum_text<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

pub fn enum_parse<T: DeserializeOwned>(text: &str) -> HqResult<T> {
    serde_json::from_value(serde_json::Value::String(text.to_string()))
        .map_err(|_| HqError::storage(format!("bad value in database: {text}")))
}
