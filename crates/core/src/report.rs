//! The printable service report: the customer's copy of one job.

use crate::zone::Tz;

use crate::error::Lang;
use crate::model::{JobType, ReplacedItem, SubCase, VisitRecord};
use crate::prices::PaymentMethod;
use crate::rules::missing_for_completion;
use crate::signature::{signature_is_valid, ServiceForm};

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn yuan(fen: u64) -> String {
    format!("¥{}.{:02}", fen / 100, fen % 100)
}

pub fn payment_method_label(method: PaymentMethod, lang: Lang) -> &'static str {
    match (method, lang) {
        (PaymentMethod::Cash, Lang::Zh) => "现金",
        (PaymentMethod::Wechat, Lang::Zh) => "微信支付",
        (PaymentMethod::Alipay, Lang::Zh) => "支付宝",
        (PaymentMethod::Card, Lang::Zh) => "银行卡",
        (PaymentMethod::Other, Lang::Zh) => "其他",
        (PaymentMethod::Cash, Lang::En) => "Cash",
        (PaymentMethod::Wechat, Lang::En) => "WeChat Pay",
        (PaymentMethod::Alipay, Lang::En) => "Alipay",
        (PaymentMethod::Card, Lang::En) => "Bank card",
        (PaymentMethod::Other, Lang::En) => "Other",
    }
}

pub fn job_type_label(job_type: JobType, lang: Lang) -> &'static str {
    match (job_type, lang) {
        (JobType::Install, Lang::Zh) => "安装类",
        (JobType::Fault, Lang::Zh) => "故障类",
        (JobType::Install, Lang::En) => "Installation",
        (JobType::Fault, Lang::En) => "Fault",
    }
}

pub fn sub_case_label(sub_case: SubCase, lang: Lang) -> &'static str {
    match (sub_case, lang) {
        (SubCase::Indoor, Lang::Zh) => "家中现场处理",
        (SubCase::Outdoor, Lang::Zh) => "户外线路排查",
        (SubCase::Replacement, Lang::Zh) => "更换设备器材",
        (SubCase::DrillingWiring, Lang::Zh) => "打洞、排线",
        (SubCase::Indoor, Lang::En) => "Indoor on-site handling",
        (SubCase::Outdoor, Lang::En) => "Outdoor line check",
        (SubCase::Replacement, Lang::En) => "Equipment replacement",
        (SubCase::DrillingWiring, Lang::En) => "Drilling and wiring",
    }
}

fn item_label(item: ReplacedItem, lang: Lang) -> &'static str {
    match (item, lang) {
        (ReplacedItem::SetTopBox, Lang::Zh) => "机顶盒",
        (ReplacedItem::Remote, Lang::Zh) => "遥控器",
        (ReplacedItem::CableModem, Lang::Zh) => "Cable Modem",
        (ReplacedItem::Line, Lang::Zh) => "线路",
        (ReplacedItem::Other, Lang::Zh) => "其他",
        (ReplacedItem::SetTopBox, Lang::En) => "Set-top box",
        (ReplacedItem::Remote, Lang::En) => "Remote control",
        (ReplacedItem::CableModem, Lang::En) => "Cable modem",
        (ReplacedItem::Line, Lang::En) => "Line",
        (ReplacedItem::Other, Lang::En) => "Other",
    }
}

/// A complete HTML document of the service report, in the customer's copy
/// form. `signature_src` is the URL the stored signature's PNG loads from,
/// if signed; times are shown in `zone`, the operator's.
pub fn service_report_html(
    visit: &VisitRecord,
    signature_src: Option<&str>,
    zone: Tz,
    lang: Lang,
) -> String {
    let zh = lang == Lang::Zh;
    let t = |zh_text: &'static str, en_text: &'static str| if zh { zh_text } else { en_text };
    let form = ServiceForm::from_visit(visit);
    let when =
        |ts: &crate::model::Timestamp| ts.with_timezone(&zone).format("%Y-%m-%d %H:%M").to_string();
    let mut rows = String::new();
    let mut row = |label: &str, value: String| {
        rows.push_str(&format!(
            "<tr><th>{}</th><td>{}</td></tr>",
            escape(label),
            value
        ));
    };
    row(t("客户", "Customer"), escape(&visit.job.customer.name));
    row(t("电话", "Phone"), escape(&visit.job.customer.phone));
    row(t("地址", "Address"), escape(&visit.job.customer.address));
    row(
        t("类型", "Type"),
        format!(
            "{} · {}",
            job_type_label(visit.job.job_type, lang),
            sub_case_label(visit.job.sub_case, lang)
        ),
    );
    row(
        t("报障内容", "Reported fault"),
        escape(&visit.job.fault_description),
    );
    row(
        t("预约时间", "Appointment"),
        format!(
            "{} – {}",
            when(&visit.job.window_start),
            when(&visit.job.window_end)
        ),
    );
    if let Some(arrived) = &visit.arrival.arrived_at {
        row(t("到达时间", "Arrived"), when(arrived));
    }
    row(t("实际故障点", "Fault point"), escape(&form.fault_point));
    row(
        t("作业内容", "Work performed"),
        escape(&form.work_description),
    );

    let replacements: String = form
        .replacements
        .iter()
        .map(|r| {
            format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                item_label(r.item, lang),
                escape(&r.old_serial),
                escape(&r.new_serial)
            )
        })
        .collect();
    let fees: String = form
        .fees
        .iter()
        .map(|f| {
            format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(if zh { &f.name_zh } else { &f.name_en }),
                f.quantity,
                yuan(f.unit_price_fen as u64),
                yuan(f.line_total_fen)
            )
        })
        .collect();
    let receipt = match &visit.payment {
        Some(receipt) => format!(
            "<table id=\"receipt\"><tr><th>{}</th><td>{}</td></tr><tr><th>{}</th><td>{}</td></tr><tr><th>{}</th><td>{}</td></tr></table>",
            t("收据号", "Receipt no."),
            escape(&receipt.receipt_no),
            t("金额", "Amount"),
            yuan(receipt.amount_fen),
            t("付款方式", "Paid by"),
            payment_method_label(receipt.method, lang),
        ),
        None if visit.fees.is_empty() => String::new(),
        None => format!("<p class=\"warn\">{}</p>", t("未记录收据", "No receipt recorded")),
    };
    let mot = visit
        .feedback
        .mot
        .map(|m| format!("{m:+}"))
        .unwrap_or_else(|| "—".into());
    let signature = match signature_src {
        Some(url) if signature_is_valid(visit) => format!(
            "<img class=\"sig\" alt=\"signature\" src=\"{}\">",
            escape(url)
        ),
        Some(_) => format!(
            "<p class=\"warn\">{}</p>",
            t(
                "签名后服务单已修改,签名无效",
                "The form changed after signing: the signature is void"
            )
        ),
        None => format!("<p class=\"warn\">{}</p>", t("未签名", "Not signed")),
    };
    let status = if visit.completed_at.is_some() {
        t("已完工", "Completed").to_string()
    } else {
        let missing: Vec<String> = missing_for_completion(visit)
            .into_iter()
            .map(|m| m.label(lang))
            .collect();
        format!(
            "{}: {}",
            t("未完工,缺少", "Not completed, missing"),
            missing.join(", ")
        )
    };
    format!(
        r#"<!doctype html><html lang="{lang_tag}"><head><meta charset="utf-8">
<title>{title}</title>
<style>
body {{ font-family: "Noto Sans CJK SC", "Noto Sans SC", "Microsoft YaHei", "PingFang SC", sans-serif; margin: 2em; color: #111; }}
h1 {{ font-size: 1.4em; margin-bottom: 0.2em; }}
table {{ border-collapse: collapse; width: 100%; margin: 0.8em 0; }}
th, td {{ border: 1px solid #999; padding: 0.35em 0.6em; text-align: left; vertical-align: top; }}
th {{ background: #f2f2f2; width: 9em; }}
.sig {{ max-height: 120px; border-bottom: 1px solid #333; }}
.warn {{ color: #b00020; font-weight: bold; }}
.small {{ color: #555; font-size: 0.85em; word-break: break-all; }}
</style></head><body>
<h1>{title}</h1>
<p class="small">{job_label}: {job_id} · {status}</p>
<table>{rows}</table>
<h2>{repl_title}</h2>
<table><tr><th>{item}</th><th>{old}</th><th>{new}</th></tr>{replacements}</table>
<h2>{fees_title}</h2>
<table><tr><th>{fee_item}</th><th>{qty}</th><th>{unit}</th><th>{sum}</th></tr>{fees}
<tr><th colspan="3">{total}</th><td>{total_value}</td></tr></table>
{receipt}
<h2>{feedback_title}</h2>
<table><tr><th>MOT</th><td>{mot}</td></tr><tr><th>{opinion}</th><td>{opinion_text}</td></tr></table>
<h2>{sign_title}</h2>
{signature}
<p class="small">{hash_label}: {hash}</p>
</body></html>"#,
        lang_tag = lang.tag(),
        title = t(
            "福建广电网络集团服务单(客户联)",
            "Service report (customer's copy)"
        ),
        job_label = t("工单", "Job"),
        job_id = visit.job.id,
        status = escape(&status),
        rows = rows,
        repl_title = t("更换设备", "Replaced equipment"),
        item = t("设备", "Item"),
        old = t("旧序列号", "Old serial"),
        new = t("新序列号", "New serial"),
        replacements = replacements,
        fees_title = t("收费(按公司价目表)", "Fees (company price list)"),
        fee_item = t("项目", "Item"),
        qty = t("数量", "Qty"),
        unit = t("单价", "Unit price"),
        sum = t("小计", "Subtotal"),
        fees = fees,
        total = t("合计", "Total"),
        total_value = yuan(form.total_fen),
        receipt = receipt,
        feedback_title = t("客户评价", "Customer feedback"),
        mot = mot,
        opinion = t("意见建议", "Opinion"),
        opinion_text = escape(&visit.feedback.opinion),
        sign_title = t("客户签名", "Customer's signature"),
        signature = signature,
        hash_label = t("服务单内容摘要 (SHA-256)", "Form content hash (SHA-256)"),
        hash = form.content_hash(),
    )
}
