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

/// The call script for a job, with the technician's and customer's names filled in.
pub fn call_script(
    job_type: JobType,
    local: NaiveTime,
    technician: &str,
    lang: Lang,
) -> Vec<String> {
    let hello = greeting(local, lang);
    match (job_type, lang) {
        (JobType::Install, Lang::Zh) => vec![
            format!("{hello},先生/小姐,我是福建广电网络分公司的维护员{technician},想和您预约一下上门安装机顶盒的时间,可以吗?"),
            "请问您现在方便接听吗?我只占用您几分钟。".into(),
            "非常感谢您的配合,我会尽快上门为您服务。".into(),
        ],
        (JobType::Fault, Lang::Zh) => vec![
            format!("{hello},先生/小姐,我是福建广电网络分公司的维护员{technician},想了解一下您家的故障情况,可以吗?"),
            "您的意思是……是这样吗?".into(),
            "非常感谢您的配合,我会尽快上门为您服务。".into(),
        ],
        (JobType::Install, Lang::En) => vec![
            format!("{hello}, this is {technician}, maintenance technician of Fujian Broadcasting Network. May I book a time to install your set-top box?"),
            "Is now a convenient time? I will only take a few minutes.".into(),
            "Thank you very much for your help; I will be with you as soon as I can.".into(),
        ],
        (JobType::Fault, Lang::En) => vec![
            format!("{hello}, this is {technician}, maintenance technician of Fujian Broadcasting Network. May I ask about the fault at your home?"),
            "So what you mean is ..., is that right?".into(),
            "Thank you very much for your help; I will be with you as soon as I can.".into(),
        ],
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PhoneGuide {
    pub greeting: String,
    pub script: Vec<String>,
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
        script: call_script(job_type, local, technician, lang),
        call_window: call_window(local),
        local_time: local.format("%H:%M").to_string(),
    }
}
