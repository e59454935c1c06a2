use doorstep_core::wire::{ApiError, PROTOCOL_VERSION};
use doorstep_core::Lang;
use doorstep_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("HQ address is not a web address: {0}")]
    BadUrl(String),
    #[error("HQ address is not encrypted: {0}")]
    Insecure(String),
    #[error("the CA certificate file is not valid: {0}")]
    BadCaFile(String),
    #[error("HQ unreachable: {0}")]
    Network(String),
    #[error("HQ's certificate is not trusted: {0}")]
    Certificate(String),
    #[error("HQ failed ({status}): {detail}")]
    HqFailed { status: u16, detail: String },
    #[error("HQ speaks protocol {supported:?}, this app {PROTOCOL_VERSION}")]
    Protocol { supported: Vec<u32> },
    #[error("HQ refused ({status}): {}: {}", error.code, error.message)]
    Refused { status: u16, error: Box<ApiError> },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("not enrolled at HQ")]
    NotEnrolled,
    #[error("cancelled")]
    Cancelled,
    /// HQ holds this device's changes only through `held_through`, less
    /// than it acknowledged: it was restored from an older backup.
    #[error("HQ holds this device's changes only through {held_through}")]
    HqBehind { held_through: i64 },
}

impl SyncError {
    pub fn code(&self) -> String {
        match self {
            SyncError::BadUrl(_) => "bad_url".into(),
            SyncError::Insecure(_) => "insecure_url".into(),
            SyncError::BadCaFile(_) => "bad_ca_file".into(),
            SyncError::Network(_) => "offline".into(),
            SyncError::Certificate(_) => "certificate_untrusted".into(),
            SyncError::HqFailed { .. } => "hq_error".into(),
            SyncError::Protocol { .. } => "protocol_version".into(),
            SyncError::Refused { error, .. } => error.code.clone(),
            SyncError::Store(e) => e.code().into(),
            SyncError::NotEnrolled => "not_enrolled".into(),
            SyncError::Cancelled => "cancelled".into(),
            SyncError::HqBehind { .. } => "hq_behind".into(),
        }
    }

    /// Worth trying again later by itself (the network, not a refusal).
    pub fn is_transient(&self) -> bool {
        matches!(self, SyncError::Network(_))
    }

    pub fn message(&self, lang: Lang) -> String {
        let zh = lang == Lang::Zh;
        match self {
            SyncError::BadUrl(url) if zh => format!("总部地址无效:{url}(应以 https:// 开头)"),
            SyncError::BadUrl(url) => format!("Invalid HQ address: {url} (it starts with https://)"),
            SyncError::Insecure(url) if zh => format!(
                "总部地址 {url} 未加密:请使用 https:// 开头的地址(http:// 只能用于本机),以免设备凭据和客户信息在网络上明文传输"
            ),
            SyncError::Insecure(url) => format!(
                "The HQ address {url} is not encrypted: use an https:// address (http:// is only for this computer itself), so the device token and customers' data never cross the network in the clear"
            ),
            SyncError::BadCaFile(_) if zh => {
                "CA 证书文件无效:应为 PEM 格式的证书(以 -----BEGIN CERTIFICATE----- 开头)".into()
            }
            SyncError::BadCaFile(_) => {
                "The CA certificate file is not valid: it should be a PEM certificate (starting with -----BEGIN CERTIFICATE-----)".into()
            }
            SyncError::Certificate(_) if zh => {
                "总部的证书不受信任,未发送任何数据。若总部使用自己的证书机构,请登记时选择其 CA 证书文件;否则请联系总部".into()
            }
            SyncError::Certificate(_) => {
                "HQ's certificate is not trusted, so nothing was sent. If HQ uses its own certificate authority, choose its CA certificate file when enrolling; otherwise contact HQ".into()
            }
            SyncError::HqFailed { status, .. } if zh => format!(
                "总部出错(HTTP {status}),本次同步未完成。数据已保存在本机,稍后会自动重试;若一直如此,请联系总部"
            ),
            SyncError::HqFailed { status, .. } => format!(
                "HQ had an error (HTTP {status}) and the sync did not finish. Everything is saved on this laptop and will be retried; if this keeps happening, contact HQ"
            ),
            SyncError::Network(_) if zh => "连不上总部,数据已保存在本机,联网后会自动同步".into(),
            SyncError::Network(_) => {
                "Cannot reach HQ. Everything is saved on this laptop and will sync when online".into()
            }
            SyncError::Protocol { supported } => {
                let newer = supported.iter().all(|v| *v > PROTOCOL_VERSION);
                match (newer, zh) {
                    (true, true) => "本应用版本过旧,总部已不支持,请升级应用后再同步。数据已安全保存在本机。".into(),
                    (true, false) => "This app is too old for HQ: update the app, then sync. Your data is safe on this laptop.".into(),
                    (false, true) => "总部版本过旧,不支持本应用,请联系总部升级。数据已安全保存在本机。".into(),
                    (false, false) => "HQ is too old for this app: ask HQ to upgrade. Your data is safe on this laptop.".into(),
                }
            }
            SyncError::Refused { error, .. } => match (error.code.as_str(), zh) {
                ("device_revoked", true) => "本设备已被总部停用。总部已有的客户资料已从本机删除,尚未发送的记录仍保留;请向调度员索取新的登记码重新登记,登记后会自动发送".into(),
                ("device_revoked", false) => "HQ has revoked this device. Customer records HQ already holds were removed from this laptop; what was not sent is kept. Ask the dispatcher for a new code and enroll again: it goes up then".into(),
                ("unauthorized", true) => "总部不认识本设备(登记已失效)。记录都保留在本机;请向调度员索取新的登记码重新登记,登记后会自动发送".into(),
                ("unauthorized", false) => "HQ does not know this device (its enrollment is no longer valid). Everything is kept on this laptop; ask the dispatcher for a new code and enroll again: it goes up then".into(),
                ("invalid_code" | "code_used" | "code_expired", true) => "登记码无效、已用过或已过期,请向调度员索取新的登记码".into(),
                ("invalid_code" | "code_used" | "code_expired", false) => {
                    "The enrollment code is invalid, used or expired: ask the dispatcher for a new one".into()
                }
                (_, true) => format!("总部拒绝了请求:{}", error.message),
                (_, false) => format!("HQ refused: {}", error.message),
            },
            SyncError::Store(e) => e.message(lang),
            SyncError::NotEnrolled if zh => "本设备尚未在总部登记".into(),
            SyncError::NotEnrolled => "This device is not enrolled at HQ yet".into(),
            SyncError::Cancelled if zh => "同步已取消,已发送的部分已确认,其余下次继续".into(),
            SyncError::Cancelled => "Sync cancelled; what went is confirmed, the rest goes next time".into(),
            SyncError::HqBehind { .. } if zh => "总部已从较早的备份恢复,缺少本机已发送的部分记录;下次同步会重新发送".into(),
            SyncError::HqBehind { .. } => {
                "HQ was restored from an older backup and lacks changes this laptop sent; the next sync sends them again".into()
            }
        }
    }
}
