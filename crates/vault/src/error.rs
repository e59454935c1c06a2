use doorstep_core::Lang;
use doorstep_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    /// No keychain answers (no Secret Service on the session bus, say).
    #[error("no keychain can be reached: {0}")]
    NoKeychain(String),
    /// This data directory's store is unlocked with a passphrase.
    #[error("this store is unlocked with a passphrase")]
    PassphraseNeeded,
    /// The store exists, encrypted, but the keychain has no key for it.
    #[error("the keychain holds no key for the existing store")]
    KeyLost,
    #[error("the passphrase is too short")]
    WeakPassphrase,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("file: {0}")]
    Io(#[from] std::io::Error),
}

impl VaultError {
    pub fn code(&self) -> &'static str {
        match self {
            VaultError::NoKeychain(_) => "no_keychain",
            VaultError::PassphraseNeeded => "passphrase_needed",
            VaultError::KeyLost => "key_lost",
            VaultError::WeakPassphrase => "weak_passphrase",
            VaultError::Store(e) => e.code(),
            VaultError::Io(_) => "storage",
        }
    }

    pub fn message(&self, lang: Lang) -> String {
        match (self, lang) {
            (VaultError::NoKeychain(_), Lang::Zh) => {
                "无法连接系统钥匙串,不能自动保护本机数据。请设置一个解锁口令:本机数据将用它加密,每次启动时输入。".into()
            }
            (VaultError::NoKeychain(_), Lang::En) => {
                "The system keychain cannot be reached, so this laptop's data cannot be protected automatically. Choose an unlock passphrase: the data is encrypted with it and you enter it at each start.".into()
            }
            (VaultError::PassphraseNeeded, Lang::Zh) => "请输入解锁口令".into(),
            (VaultError::PassphraseNeeded, Lang::En) => "Enter the unlock passphrase".into(),
            (VaultError::KeyLost, Lang::Zh) => {
                "系统钥匙串中找不到本机数据库的密钥,无法打开本机数据。已同步到总部的工作不受影响。".into()
            }
            (VaultError::KeyLost, Lang::En) => {
                "The system keychain no longer holds the key of this laptop's database, so its data cannot be opened. Work already synced to HQ is safe.".into()
            }
            (VaultError::WeakPassphrase, Lang::Zh) => "口令至少需要 8 个字符".into(),
            (VaultError::WeakPassphrase, Lang::En) => {
                "The passphrase needs at least 8 characters".into()
            }
            (VaultError::Store(e), lang) => e.message(lang),
            (VaultError::Io(e), Lang::Zh) => format!("无法读写数据目录:{e}"),
            (VaultError::Io(e), Lang::En) => format!("Cannot use the data directory: {e}"),
        }
    }
}
