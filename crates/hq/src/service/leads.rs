//! Leads (standard item 16) for the console: the list of leads due for
//! follow-up and its CSV export. HQ's list is written at push
//! (`rules::leads_after_push`); whether a lead is owed a call and when it is
//! due are core's rules (`doorstep_core::leads`).

use doorstep_core::leads::{due, interest_label, Due};
use doorstep_core::Lang;

use super::Hq;
use crate::dto::{LeadEntry, LeadsQuery};
use crate::error::{HqError, HqResult};
use crate::records::LeadFilter;
use crate::time_range;

/// Most leads one list or export holds: a depot's open leads fit many
/// times over, and an answer stays bounded whatever the filters.
pub const LEADS_LIMIT: usize = 5000;

impl Hq {
    /// The leads the query matches, the reminder soonest first (those
    /// without one last), with their technician and how soon each is due.
    pub async fn leads(&self, query: &LeadsQuery) -> HqResult<Vec<LeadEntry>> {
        if let Some(at) = query.due_before {
            time_range::check_time("due_before", at)
                .map_err(|m| HqError::invalid("invalid_field", m))?;
        }
        let filter = LeadFilter {
            technician: query.technician,
            interest: query.interest,
            open_only: !query.all,
            due_before: query.due_before,
            limit: LEADS_LIMIT,
        };
        let now = (self.clock)();
        let records = self.storage.leads(&filter).await?;
        let technicians = self.storage.technicians().await?;
        Ok(records
            .into_iter()
            .map(|record| LeadEntry {
                technician: technicians
                    .iter()
                    .find(|t| t.id == record.technician_id)
                    .cloned(),
                due: due(&record.lead, now),
                lead: record.lead,
                job_id: record.job_id,
                customer_name: record.customer_name,
                phone: record.phone,
            })
            .collect())
    }

    /// The same leads as CSV, for a spreadsheet: a header in the asked
    /// language (Chinese by default) and one row per lead; the reminder in
    /// the technician's local time, as they set it.
    pub async fn leads_csv(&self, query: &LeadsQuery) -> HqResult<String> {
        let lang = query
            .lang
            .as_deref()
            .and_then(Lang::from_tag)
            .unwrap_or_default();
        let leads = self.leads(query).await?;
        let header: [&str; 11] = match lang {
            Lang::Zh => [
                "技术员",
                "客户",
                "电话",
                "产品",
                "意向",
                "跟进时间",
                "到期",
                "已跟进次数",
                "备注",
                "最近跟进记录",
                "工单",
            ],
            Lang::En => [
                "Technician",
                "Customer",
                "Phone",
                "Product",
                "Intent",
                "Follow-up time",
                "Due",
                "Follow-up calls",
                "Note",
                "Latest call note",
                "Job",
            ],
        };
        let mut out = csv::Writer::from_writer(Vec::new());
        out.write_record(header).map_err(HqError::storage)?;
        for entry in &leads {
            let lead = &entry.lead;
            let row = [
                entry
                    .technician
                    .as_ref()
                    .map(|t| t.name.clone())
                    .unwrap_or_default(),
                entry.customer_name.clone(),
                entry.phone.clone(),
                lead.product.clone(),
                interest_label(lead.interest, lang).to_string(),
                lead.follow_up_at
                    .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
                    .unwrap_or_default(),
                due_label(entry.due, lang).to_string(),
                lead.contacts.len().to_string(),
                lead.note.clone(),
                lead.contacts
                    .last()
                    .map(|c| c.note.clone())
                    .unwrap_or_default(),
                entry.job_id.to_string(),
            ];
            out.write_record(row.iter().map(|cell| csv_cell(cell)))
                .map_err(HqError::storage)?;
        }
        let bytes = out.into_inner().map_err(HqError::storage)?;
        // The byte-order mark makes spreadsheet programs read the file as
        // UTF-8, so the Chinese is not garbled.
        Ok(format!(
            "\u{feff}{}",
            String::from_utf8(bytes).map_err(HqError::storage)?
        ))
    }
}

fn due_label(due: Option<Due>, lang: Lang) -> &'static str {
    match (due, lang) {
        (Some(Due::Now), Lang::Zh) => "现在",
        (Some(Due::Today), Lang::Zh) => "今天",
        (Some(Due::Later), Lang::Zh) => "以后",
        (None, Lang::Zh) => "",
        (Some(Due::Now), Lang::En) => "now",
        (Some(Due::Today), Lang::En) => "today",
        (Some(Due::Later), Lang::En) => "later",
        (None, Lang::En) => "",
    }
}

/// A cell a spreadsheet shows as text, never runs: one starting with a
/// character that starts a formula (= + - @, or a tab or carriage return
/// that some programs skip before one) gets a leading apostrophe. Customers'
/// names and technicians' notes come from outside and could be crafted.
pub fn csv_cell(text: &str) -> String {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{text}"),
        _ => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::csv_cell;

    /// CSV injection: a cell that would start a formula in a spreadsheet
    /// must reach it as text.
    #[test]
    fn a_cell_that_would_start_a_formula_is_escaped() {
        for formula in [
            "=HYPERLINK(\"http://x\")",
            "+1+1",
            "-2",
            "@SUM(A1)",
            "\t=1",
            "\r=1",
        ] {
            assert_eq!(csv_cell(formula), format!("'{formula}"));
        }
        assert_eq!(csv_cell("王女士"), "王女士");
        assert_eq!(csv_cell("13800000000"), "13800000000");
        assert_eq!(csv_cell(""), "");
    }
}
