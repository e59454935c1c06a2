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
    /// The key does not open the file: a different key, or not this store.
    #[error("the key does not open the local database")]
    WrongKey,
    #[error("encryption key: {0}")]
    Key(String),
    /// Converting a plaintext store failed; the plain file is untouched.
    #[error("encrypting the local database: {0}")]
    Seal(String),
    #[error("file: {0}")]
    Io(#[from] std::io::Error),
}

impl StoreError {
    pub fn code(&self) -> &'static str {
        match self {
            StoreError::Domain(e) => e.code(),
            StoreError::NotFound(_) => "not_found",
            StoreError::WrongKey => "wrong_key",
            StoreError::Sqlite(_)
            | StoreError::Migration(_)
            | StoreError::Corrupt(_)
            | StoreError::Key(_)
            | StoreError::Seal(_)
            | StoreError::Io(_) => "storage",
        }
    }

    pub fn message(&self, lang: Lang) -> String {
        match (self, lang) {
            (StoreError::Domain(e), _) => e.message(lang),
            (StoreError::NotFound(_), Lang::Zh) => "找不到该记录".into(),
            (StoreError::NotFound(_), Lang::En) => "That record was not found".into(),
            (StoreError::WrongKey, Lang::Zh) => "密钥或口令无法打开本地数据库".into(),
            (StoreError::WrongKey, Lang::En) => {
                "The key or passphrase does not open the local database".into()
            }
            (other, Lang::Zh) => format!("本地数据库出错,已保存的数据未受影响:{other}"),
            (other, Lang::En) => {
                format!("Local database error; what was saved is unaffected: {other}")
            }
        }
    }
}
