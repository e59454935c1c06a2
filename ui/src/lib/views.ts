// The screens other than the job list, each loaded the first time it is
// shown rather than with the app's first script: a cold start parses and
// runs only what the list needs. The module loader keeps what it has
// loaded, so a screen's script is fetched once however often it shows.
export const views = {
  job: () => import('./visit/JobView.svelte'),
  report: () => import('./report/ReportView.svelte'),
  sync: () => import('./sync/SyncView.svelte'),
  leads: () => import('./leads/LeadsView.svelte'),
  documents: () => import('./documents/DocumentsView.svelte'),
};
