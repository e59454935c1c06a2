//! The phone step: scripts, greeting by time of day, and when calls are allowed.

use chrono::{Duration, NaiveDateTime, NaiveTime, Timelike};
use serde::Serialize;

use crate::error::Lang;
use crate::model::JobType;

/// The greeting for the local time of day; never "喂".
pub fn greeting(local: NaiveTime, lang: Lang) -> &'static str {
    let hour = local.hour();
    match (hour, lang) {
        (5..=8, Lang::Zh) => "早上好",
        (9..=11, Lang::Zh) => "上午好",
        (12..=13, Lang::Zh) => "中午好",
        (14..=17, Lang::Zh) => "下午好",
        (_, Lang::Zh) => "晚上好",
        (5..=11, Lang::En) => "Good morning",
        (12..=17, Lang::En) => "Good afternoon",
        (_, Lang::En) => "Good evening",
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CallWindow {
    Allowed,
    /// Midday rest or a mealtime: allowed, but best avoided.
    Mealtime,
    /// Before 07:00 or from 22:00: the standard says do not call.
    Forbidden,
}

pub fn call_window(local: NaiveTime) -> CallWindow {
    let minutes = local.hour() * 60 + local.minute();
    if !(7 * 60..22 * 60).contains(&minutes) {
        CallWindow::Forbidden
    } else if (12 * 60..14 * 60).contains(&minutes) || (18 * 60..19 * 60).contains(&minutes) {
        CallWindow::Mealtime
    } else {
        CallWindow::Allowed
    }
}

/// Why the technician phones the customer: each call type of the standard
/// has its own script (item 17).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CallKind {
    /// Booking (or confirming) the visit: the installation or fault script.
    Booking,
    /// Running late: phone ahead, give the reason, apologise.
    LateApology,
    /// Nobody answers the door after three minutes of knocking.
    DoorNoAnswer,
    /// After an outdoor line repair: confirm the service works (item 10).
    ConfirmAfterRepair,
    /// A lead for a value-added service, followed up without pressure.
    LeadFollowUp,
    /// Calling back with the result of a complaint.
    ComplaintCallback,
}

impl CallKind {
    pub const ALL: [CallKind; 6] = [
        CallKind::Booking,
        CallKind::LateApology,
        CallKind::DoorNoAnswer,
        CallKind::ConfirmAfterRepair,
        CallKind::LeadFollowUp,
        CallKind::ComplaintCallback,
    ];
}

/// The script of one call type, with the greeting and the technician's name
/// filled in. Every script opens with who is calling and why (the standard's
/// first 15 seconds) and closes by thanking the customer.
pub fn call_script(
    kind: CallKind,
    job_type: JobType,
    local: NaiveTime,
    technician: &str,
    lang: Lang,
) -> Vec<String> {
    let hello = greeting(local, lang);
    match lang {
        Lang::Zh => {
            let me = format!("{hello},先生/小姐,我是福建广电网络分公司的维护员{technician}");
            match kind {
                CallKind::Booking => match job_type {
                    JobType::Install => vec![
                        format!("{me},想和您预约一下上门安装机顶盒的时间,可以吗?"),
                        "请问您现在方便接听吗?我只占用您几分钟。".into(),
                        "非常感谢您的配合,我会尽快上门为您服务。".into(),
                    ],
                    JobType::Fault => vec![
                        format!("{me},想了解一下您家的故障情况,可以吗?"),
                        "您的意思是……是这样吗?".into(),
                        "非常感谢您的配合,我会尽快上门为您服务。".into(),
                    ],
                },
                CallKind::LateApology => vec![
                    format!("{me},非常抱歉,因为(原因),我会比约定的时间晚到大约(XX)分钟。"),
                    "给您添麻烦了,请问这个时间您方便吗?如不方便,我们可以另约时间。".into(),
                    "感谢您的理解,我会尽快赶到。".into(),
                ],
                CallKind::DoorNoAnswer => vec![
                    format!("{me},我已按约定到您家门口,敲门没有人应答。"),
                    "请问您现在方便开门吗?如果不方便,我们可以另约一个您方便的时间。".into(),
                    "感谢您的配合,打扰了。".into(),
                ],
                CallKind::ConfirmAfterRepair => vec![
                    format!(
                        "{me},之前为您修复了户外线路,想跟您确认一下,现在电视和宽带使用是否正常?"
                    ),
                    "请问还有什么可以帮您吗?".into(),
                    "非常感谢您的配合,祝您生活愉快。".into(),
                ],
                CallKind::LeadFollowUp => vec![
                    format!(
                        "{me},上次上门时您对(产品)比较感兴趣,我只占用您几分钟,给您介绍一下,可以吗?"
                    ),
                    "如果您需要时间考虑,没关系,我过两天再联系您。".into(),
                    "非常感谢您的时间,祝您生活愉快。".into(),
                ],
                CallKind::ComplaintCallback => vec![
                    format!("{me},关于您反映的问题,现在给您回复处理结果:……"),
                    "请问您对这个处理结果满意吗?还有其他需要我们做的吗?".into(),
                    "感谢您的耐心和理解,如有问题请随时联系我们。".into(),
                ],
            }
        }
        Lang::En => {
            let me = format!(
                "{hello}, this is {technician}, maintenance technician of Fujian Broadcasting Network"
            );
            match kind {
                CallKind::Booking => match job_type {
                    JobType::Install => vec![
                        format!("{me}. May I book a time to install your set-top box?"),
                        "Is now a convenient time? I will only take a few minutes.".into(),
                        "Thank you very much for your help; I will be with you as soon as I can.".into(),
                    ],
                    JobType::Fault => vec![
                        format!("{me}. May I ask about the fault at your home?"),
                        "So what you mean is ..., is that right?".into(),
                        "Thank you very much for your help; I will be with you as soon as I can.".into(),
                    ],
                },
                CallKind::LateApology => vec![
                    format!("{me}. I am very sorry: because of (reason) I will be about (XX) minutes later than we agreed."),
                    "I apologise for the trouble. Is that still convenient? If not, we can book another time.".into(),
                    "Thank you for your understanding; I will be there as soon as I can.".into(),
                ],
                CallKind::DoorNoAnswer => vec![
                    format!("{me}. I am at your door as agreed, but nobody answers."),
                    "Could you open the door now? If it is not convenient, we can book another time that suits you.".into(),
                    "Thank you, and sorry to disturb you.".into(),
                ],
                CallKind::ConfirmAfterRepair => vec![
                    format!("{me}. We repaired the outdoor line for you; may I check that your TV and broadband work properly now?"),
                    "Is there anything else I can help you with?".into(),
                    "Thank you very much, and have a good day.".into(),
                ],
                CallKind::LeadFollowUp => vec![
                    format!("{me}. On my visit you were interested in (product); may I take a few minutes to tell you about it?"),
                    "If you would like time to think, that is fine; I will call again in a couple of days.".into(),
                    "Thank you for your time, and have a good day.".into(),
                ],
                CallKind::ComplaintCallback => vec![
                    format!("{me}. I am calling back about the problem you reported, with the result: ..."),
                    "Are you satisfied with how it was handled? Is there anything more we should do?".into(),
                    "Thank you for your patience; please call us any time.".into(),
                ],
            }
        }
    }
}

/// One call type's script, as the phone step shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CallScript {
    pub kind: CallKind,
    pub lines: Vec<String>,
}

/// The first local time at or after `local` when a call is fully allowed
/// (`CallWindow::Allowed`: not before 07:00 or from 22:00, not at midday
/// rest or a mealtime). Judged by `call_window` alone, a minute at a time,
/// so the windows are written down once.
pub fn next_call_time(local: NaiveDateTime) -> NaiveDateTime {
    if call_window(local.time()) == CallWindow::Allowed {
        return local;
    }
    let mut minute = local
        .with_second(0)
        .and_then(|t| t.with_nanosecond(0))
        .unwrap_or(local);
    // The longest stretch that is not allowed (22:00 to 07:00) is nine
    // hours; a day bounds the walk whatever the windows become.
    for _ in 0..24 * 60 {
        // The end of the calendar stays where it is rather than overflow.
        let Some(next) = minute.checked_add_signed(Duration::minutes(1)) else {
            return local;
        };
        minute = next;
        if call_window(minute.time()) == CallWindow::Allowed {
            return minute;
        }
    }
    local
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PhoneGuide {
    pub greeting: String,
    /// A script for every call type; the phone step shows the one the
    /// technician is making.
    pub scripts: Vec<CallScript>,
    pub call_window: CallWindow,
    pub local_time: String,
}

/// Everything the phone step shows, for the technician's local time.
pub fn phone_guide(
    job_type: JobType,
    local: NaiveTime,
    technician: &str,
    lang: Lang,
) -> PhoneGuide {
    PhoneGuide {
        greeting: greeting(local, lang).to_string(),
        scripts: CallKind::ALL
            .into_iter()
            .map(|kind| CallScript {
                kind,
                lines: call_script(kind, job_type, local, technician, lang),
            })
            .collect(),
        call_window: call_window(local),
        local_time: local.format("%H:%M").to_string(),
    }
}
