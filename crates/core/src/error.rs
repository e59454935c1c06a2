//! The one error type of the domain. Each error has a stable `code` the UI can
//! branch on, and a message in both of the UI's languages.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Lang {
    #[default]
    #[serde(rename = "zh-CN")]
    Zh,
    #[serde(rename = "en")]
    En,
}

impl Lang {
    pub fn from_tag(tag: &str) -> Option<Lang> {
        match tag {
            "zh-CN" | "zh" => Some(Lang::Zh),
            "en" | "en-US" => Some(Lang::En),
            _ => None,
        }
    }

    pub fn tag(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DomainError {
    #[error("required field is empty: {0}")]
    Required(&'static str),
    #[error("text too long: {field} has {len} characters, at most {max}")]
    TooLong {
        field: &'static str,
        len: usize,
        max: usize,
    },
    #[error("value out of range: {0}")]
    OutOfRange(&'static str),
    #[error("kit not complete and no reason recorded")]
    KitIncomplete,
    #[error("fee item not in the price list: {0}")]
    UnknownFee(String),
    #[error("not a price list code: {0}")]
    BadPriceCode(String),
    #[error("not an image we can read: {0}")]
    NotAnImage(String),
    #[error("file too large: {size} bytes, at most {max}")]
    FileTooLarge { size: usize, max: usize },
    #[error("signature is blank")]
    BlankSignature,
    #[error("job cannot be completed, missing: {0:?}")]
    Incomplete(Vec<crate::rules::Missing>),
    #[error("job is closed")]
    JobClosed,
    #[error("the reschedule slot must end after it starts and lie in the future")]
    BadSlot,
    #[error("the signature was not made over the service form as it stands")]
    SignatureMismatch,
    #[error("{0:?} has its own command")]
    NeedsOwnCommand(OwnCommand),
    #[error("the promised reply time must lie in the future")]
    ReplyDeadlinePast,
    #[error("no such complaint on this job")]
    UnknownComplaint,
    #[error("the lead has had its three follow-up calls")]
    FollowUpsUsed,
    #[error("the lead is settled (success or declined)")]
    LeadSettled,
    #[error("no such lead on this job")]
    UnknownLead,
}

/// The changes that enter only through a command of their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnCommand {
    Sign,
    AddPhoto,
}

impl DomainError {
    pub fn code(&self) -> &'static str {
        match self {
            DomainError::Required(_) => "required",
            DomainError::TooLong { .. } => "too_long",
            DomainError::OutOfRange(_) => "out_of_range",
            DomainError::KitIncomplete => "kit_incomplete",
            DomainError::UnknownFee(_) => "unknown_fee",
            DomainError::BadPriceCode(_) => "bad_price_code",
            DomainError::NotAnImage(_) => "not_an_image",
            DomainError::FileTooLarge { .. } => "file_too_large",
            DomainError::BlankSignature => "blank_signature",
            DomainError::Incomplete(_) => "incomplete",
            DomainError::JobClosed => "job_closed",
            DomainError::BadSlot => "bad_slot",
            DomainError::ReplyDeadlinePast => "reply_deadline_past",
            DomainError::UnknownComplaint => "unknown_complaint",
            DomainError::SignatureMismatch => "signature_mismatch",
            DomainError::NeedsOwnCommand(_) => "needs_own_command",
            DomainError::FollowUpsUsed => "follow_ups_used",
            DomainError::LeadSettled => "lead_settled",
            DomainError::UnknownLead => "unknown_lead",
        }
    }

    pub fn message(&self, lang: Lang) -> String {
        match (self, lang) {
            (DomainError::Required(f), Lang::Zh) => format!("请填写必填项:{}", field_label(f, lang)),
            (DomainError::Required(f), Lang::En) => {
                format!("Please fill in the required field: {}", field_label(f, lang))
            }
            (DomainError::TooLong { field, len, max }, Lang::Zh) => format!(
                "{}太长:{} 个字符,最多 {} 个。已保存的内容未改动。",
                field_label(field, lang),
                len,
                max
            ),
            (DomainError::TooLong { field, len, max }, Lang::En) => format!(
                "{} is too long: {len} characters, at most {max}. What was saved is unchanged.",
                field_label(field, lang)
            ),
            (DomainError::OutOfRange(f), Lang::Zh) => {
                format!("{}的值超出范围", field_label(f, lang))
            }
            (DomainError::OutOfRange(f), Lang::En) => {
                format!("{} is out of range", field_label(f, lang))
            }
            (DomainError::KitIncomplete, Lang::Zh) => {
                "开始作业前请勾选四个一道具(垫布、盖布、抹布、鞋套),或填写未带齐的原因".into()
            }
            (DomainError::KitIncomplete, Lang::En) => {
                "Tick the four-item kit (mat cloth, cover cloth, wiping cloth, shoe covers) before starting work, or record why it is incomplete".into()
            }
            (DomainError::UnknownFee(c), Lang::Zh) => {
                format!("收费项目“{c}”不在本机的公司价目表中(或价格与价目表不符),不允许收取")
            }
            (DomainError::UnknownFee(c), Lang::En) => format!(
                "Fee item \"{c}\" is not on this laptop's company price list (or not at its price) and may not be charged"
            ),
            (DomainError::BadPriceCode(c), Lang::Zh) => format!(
                "收费项目代码“{c}”无效:只能用小写字母、数字和下划线,以字母开头,最多 40 个字符"
            ),
            (DomainError::BadPriceCode(c), Lang::En) => format!(
                "\"{c}\" is not a valid item code: lower-case letters, digits and underscores, starting with a letter, at most 40 characters"
            ),
            (DomainError::NotAnImage(_), Lang::Zh) => {
                "该文件不是可识别的图片(支持 PNG、JPEG、WebP)".into()
            }
            (DomainError::NotAnImage(_), Lang::En) => {
                "This file is not an image we can read (PNG, JPEG or WebP)".into()
            }
            (DomainError::FileTooLarge { size, max }, Lang::Zh) => format!(
                "文件太大:{:.1} MB,最大 {:.0} MB",
                *size as f64 / 1e6,
                *max as f64 / 1e6
            ),
            (DomainError::FileTooLarge { size, max }, Lang::En) => format!(
                "File too large: {:.1} MB, at most {:.0} MB",
                *size as f64 / 1e6,
                *max as f64 / 1e6
            ),
            (DomainError::BlankSignature, Lang::Zh) => "签名为空或无法识别,请客户重新签名".into(),
            (DomainError::BlankSignature, Lang::En) => {
                "The signature is blank or unreadable; please ask the customer to sign again".into()
            }
            (DomainError::Incomplete(missing), _) => {
                let items: Vec<String> = missing.iter().map(|m| m.label(lang)).collect();
                match lang {
                    Lang::Zh => format!("还不能完工,缺少:{}", items.join("、")),
                    Lang::En => format!("Cannot complete yet, missing: {}", items.join(", ")),
                }
            }
            (DomainError::JobClosed, Lang::Zh) => "该工单已完工或已改约,不能再修改".into(),
            (DomainError::JobClosed, Lang::En) => {
                "This job is completed or rescheduled and can no longer be changed".into()
            }
            (DomainError::BadSlot, Lang::Zh) => "新预约时间无效:结束须晚于开始,且在将来".into(),
            (DomainError::BadSlot, Lang::En) => {
                "The new slot is invalid: it must end after it starts and lie in the future".into()
            }
            (DomainError::ReplyDeadlinePast, Lang::Zh) => {
                "承诺答复时间必须晚于现在".into()
            }
            (DomainError::ReplyDeadlinePast, Lang::En) => {
                "The promised reply time must be later than now".into()
            }
            (DomainError::UnknownComplaint, Lang::Zh) => "该工单上没有这条投诉".into(),
            (DomainError::UnknownComplaint, Lang::En) => "There is no such complaint on this job".into(),
            (DomainError::SignatureMismatch, Lang::Zh) => {
                "签名与服务单当前内容不符,请客户阅读当前服务单后重新签名".into()
            }
            (DomainError::SignatureMismatch, Lang::En) => {
                "The signature does not match the service form as it stands; ask the customer to read it and sign again".into()
            }
            (DomainError::NeedsOwnCommand(OwnCommand::Sign), Lang::Zh) => {
                "签名只能由客户在签名板上签署后保存".into()
            }
            (DomainError::NeedsOwnCommand(OwnCommand::Sign), Lang::En) => {
                "A signature can only be saved from the customer signing on the signature pad".into()
            }
            (DomainError::NeedsOwnCommand(OwnCommand::AddPhoto), Lang::Zh) => "照片只能通过“拍照 / 选择照片”添加".into(),
            (DomainError::NeedsOwnCommand(OwnCommand::AddPhoto), Lang::En) => {
                "A photo can only be added with \"Take / choose photo\"".into()
            }
            (DomainError::FollowUpsUsed, Lang::Zh) => {
                "该意向已跟进三次,按规范不再打扰客户".into()
            }
            (DomainError::FollowUpsUsed, Lang::En) => {
                "This lead has had its three follow-up calls; the standard says not to press the customer further".into()
            }
            (DomainError::LeadSettled, Lang::Zh) => {
                "该意向已有结果(成功或不申请),无需再跟进".into()
            }
            (DomainError::LeadSettled, Lang::En) => {
                "This lead is settled (success or declined); no further follow-up is needed".into()
            }
            (DomainError::UnknownLead, Lang::Zh) => "该工单上没有这条意向记录".into(),
            (DomainError::UnknownLead, Lang::En) => "This job has no such lead".into(),
        }
    }
}

/// Human names of the fields that validation talks about.
pub fn field_label(field: &str, lang: Lang) -> String {
    let (zh, en) = match field {
        "note" => ("备注", "Note"),
        "outcome" => ("通话结果", "Call outcome"),
        "reason" => ("原因", "Reason"),
        "item" => ("设备", "Item"),
        "old_serial" => ("旧序列号", "Old serial number"),
        "new_serial" => ("新序列号", "New serial number"),
        "consent" => ("客户同意", "Customer consent"),
        "needs" => ("客户需求", "Customer needs"),
        "opinion" => ("客户意见", "Customer opinion"),
        "mot" => ("MOT 评分", "MOT score"),
        "quantity" => ("数量", "Quantity"),
        "issue" => ("投诉内容", "Complaint"),
        "taken_by" => ("受理人", "Taken by"),
        "result" => ("处理结果", "Result"),
        "duration_seconds" => ("通话时长(最长 4 小时)", "Call duration (at most 4 hours)"),
        "product" => ("产品", "Product"),
        "description" => ("作业内容", "Work description"),
        "fault_point" => ("实际故障点", "Actual fault point"),
        "kit_reason" => ("道具未带齐原因", "Reason the kit is incomplete"),
        "follow_up" => ("跟进时间", "Follow-up time"),
        "problem" => ("问题", "Problem"),
        "price_name_zh" => ("中文名称", "Chinese name"),
        "price_name_en" => ("英文名称", "English name"),
        "unit_price" => ("单价", "Unit price"),
        "receipt_no" => ("收据号", "Receipt number"),
        "receipt_amount" => ("收据金额", "Receipt amount"),
        other => (other, other),
    };
    match lang {
        Lang::Zh => zh.to_string(),
        Lang::En => en.to_string(),
    }
}
