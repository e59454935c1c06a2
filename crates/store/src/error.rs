use doorstep_core::{DomainError, Lang};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Domain(#[from] DomainError),
    #[error("not found: {0}")]
    NotFound(String),
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("migration: {0}")]
    Migration(#[from] rusqlite_migration::Error),
    #[error("stored data is unreadable: {0}")]
    Corrupt(String),
}

impl StoreError {
    pub fn code(&self) -> &'static str {
        match self {
            StoreError::Domain(e) => e.code(),
            StoreError::NotFound(_) => "not_found",
            StoreError::Sqlite(_) | StoreError::Migration(_) | StoreError::Corrupt(_) => "storage",
        }
    }

    pub fn message(&self, lang: Lang) -> String {
        match (self, lang) {
            (StoreError::Domain(e), _) => e.message(lang),
            (StoreError::NotFound(_), Lang::Zh) => "找不到该记录".into(),
            (StoreError::NotFound(_), Lang::En) => "That record was not found".into(),
            (other, Lang::Zh) => format!("本地数据库出错,已保存的数据未受影响:{other}"),
            (other, Lang::En) => {
                format!("Local database error; what was saved is unaffected: {other}")
            }
        }
    }
}
