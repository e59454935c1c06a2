//! The demo set a newcomer sees at first start (the jobs themselves are in
//! `doorstep_core::demo`, which HQ shares).

use chrono::{FixedOffset, NaiveDate};

pub use doorstep_core::demo::demo_jobs;

use crate::{Store, StoreError};

impl Store {
    /// Loads the demo set into an empty store; a store with jobs is left alone.
    pub fn seed_demo_if_empty(
        &mut self,
        today: NaiveDate,
        offset: FixedOffset,
    ) -> Result<bool, StoreError> {
        if self.job_count()? > 0 {
            return Ok(false);
        }
        self.upsert_jobs(&demo_jobs(today, offset))?;
        self.mark_demo_seeded()?;
        Ok(true)
    }
}
