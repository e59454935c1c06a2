//! The one error shape the UI sees: `{code, message}`, the message in the
//! UI's language.

use doorstep_core::{DomainError, Lang};
use doorstep_store::StoreError;
use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct IpcError {
    pub code: String,
    pub message: String,
}

impl IpcError {
    pub fn store(error: StoreError, lang: Lang) -> IpcError {
        IpcError {
            code: error.code().into(),
            message: error.message(lang),
        }
    }

    pub fn domain(error: DomainError, lang: Lang) -> IpcError {
        IpcError {
            code: error.code().into(),
            message: error.message(lang),
        }
    }

    pub fn bad_request(lang: Lang, detail: impl std::fmt::Display) -> IpcError {
        IpcError {
            code: "bad_request".into(),
            message: match lang {
                Lang::Zh => format!("请求无效:{detail}"),
                Lang::En => format!("Invalid request: {detail}"),
            },
        }
    }
}
