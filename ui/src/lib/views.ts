// The screens other than the job list, each loaded the first time it is
// shown rather than with the app's first script: a cold start parses and
// runs only what the list needs. Each loader is kept once, so a screen's
// script is fetched once.
const once = <T>(load: () => Promise<T>) => {
  let loaded: Promise<T> | null = null;
  return () => (loaded ??= load());
};

export const views = {
  job: once(() => import('./visit/JobView.svelte')),
  report: once(() => import('./report/ReportView.svelte')),
  sync: once(() => import('./sync/SyncView.svelte')),
  leads: once(() => import('./leads/LeadsView.svelte')),
  documents: once(() => import('./documents/DocumentsView.svelte')),
};
