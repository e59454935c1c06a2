// The one typed bridge to the Rust side. Every `invoke` goes through here;
// the types mirror crates/core (serde snake_case fields and enum values).
import { convertFileSrc, invoke } from '@tauri-apps/api/core';

export type Uuid = string;
/** RFC 3339 timestamp. */
export type Timestamp = string;
/** YYYY-MM-DD */
export type NaiveDate = string;

export type Locale = 'zh-CN' | 'en';
export type JobType = 'install' | 'fault';
export type SubCase = 'indoor' | 'outdoor' | 'replacement' | 'drilling_wiring';
export type JobStatus = 'scheduled' | 'in_progress' | 'completed' | 'rescheduled' | 'cancelled';
export type Step = 'phone' | 'visit' | 'operate' | 'communicate' | 'evaluate' | 'help';
export const STEPS: Step[] = ['phone', 'visit', 'operate', 'communicate', 'evaluate', 'help'];
export type Tab = 'today' | 'upcoming' | 'done';
export type CallOutcome = 'booked' | 'confirmed' | 'no_answer' | 'late_apology' | 'door_no_answer' | 'other' | 'repair_confirmed';
export const CALL_OUTCOMES: CallOutcome[] = ['booked', 'confirmed', 'no_answer', 'late_apology', 'door_no_answer', 'repair_confirmed', 'other'];
/** Why the technician phones: each has its own script (core's `phone::CallKind`). */
export type CallKind = 'booking' | 'late_apology' | 'door_no_answer' | 'confirm_after_repair' | 'lead_follow_up' | 'complaint_callback';
export type ReplacedItem = 'set_top_box' | 'remote' | 'cable_modem' | 'line' | 'other';
export const REPLACED_ITEMS: ReplacedItem[] = ['set_top_box', 'remote', 'cable_modem', 'line', 'other'];
export type CustomerType = 'dove' | 'owl' | 'peacock' | 'tiger';
export const CUSTOMER_TYPES: CustomerType[] = ['dove', 'owl', 'peacock', 'tiger'];
export type Interest = 'unreachable' | 'success' | 'fairly_interested' | 'interested' | 'declined';
export const INTERESTS: Interest[] = ['unreachable', 'success', 'fairly_interested', 'interested', 'declined'];
export type RescheduleReason = 'needs_support' | 'conditions_not_met' | 'technician_delayed';
export const RESCHEDULE_REASONS: RescheduleReason[] = ['needs_support', 'conditions_not_met', 'technician_delayed'];
export type PhotoKind = 'before' | 'after';
export type CallWindow = 'allowed' | 'mealtime' | 'forbidden';

export interface AppInfo {
  locale: Locale;
  technician: string;
  last_job_id: Uuid | null;
  version: string;
  data_dir: string;
  /** The operator's time zone (IANA name): every time is shown in it. */
  time_zone: string;
}

/** Where the next page of a list starts (`doorstep_store::ListCursor`). */
export interface ListCursor { window_start: Timestamp; id: Uuid }
/** One page of the job list; `next` is null on the last page. */
export interface JobPage { jobs: JobSummary[]; next: ListCursor | null }

export interface JobSummary {
  id: Uuid;
  customer_name: string;
  address: string;
  phone: string;
  job_type: JobType;
  sub_case: SubCase;
  window_start: Timestamp;
  window_end: Timestamp;
  status: JobStatus;
  step: Step;
  /** Past its window and still open: decided in Rust (core's `is_overdue`). */
  overdue: boolean;
  /** HQ flagged it a repeat fault (standard item 15). */
  repeat_fault: boolean;
  /** Past its repair-time target and not done (core's `is_past_target`). */
  past_target: boolean;
}

export interface Customer { id: Uuid; name: string; phone: string; address: string; account_number?: string }
export interface EarlierVisit { date: NaiveDate; summary: string }
export interface Job {
  id: Uuid;
  customer: Customer;
  job_type: JobType;
  sub_case: SubCase;
  fault_description: string;
  window_start: Timestamp;
  window_end: Timestamp;
  status: JobStatus;
  earlier_visits: EarlierVisit[];
  /** 1, then one more each time HQ re-books the job after a reschedule. */
  visit: number;
  /** The customer's earlier fault job that makes this a repeat fault (HQ's call). */
  repeat_of?: Uuid;
  /** When the customer reported it (absent from older HQs). */
  reported_at?: Timestamp | null;
  /** The repair-time target: done by then (absent when there is none). */
  due_by?: Timestamp | null;
}

export type VipGrade = 'regular' | 'silver' | 'gold' | 'diamond';
export interface StoryReplacement { item: ReplacedItem; old_serial: string; new_serial: string }
export interface StoryVisit {
  job_id: Uuid; date: NaiveDate; job_type: JobType; sub_case: SubCase; status: JobStatus;
  visit: number; mot?: number; reported: string; work: string; replacements: StoryReplacement[];
}
export interface Product {
  kind: 'installed_service' | 'equipment'; name: string; item?: ReplacedItem; serial?: string;
  since: NaiveDate; job_id: Uuid;
}
export interface OpenComplaint { issue: string; opened_at: Timestamp }
/** The customer's story as HQ last sent it (standard items 15 and 22). */
export interface CustomerStory {
  customer_id: Uuid; vip_grade: VipGrade; visits: StoryVisit[]; products: Product[];
  open_complaints: OpenComplaint[];
}

export interface CallLog { id: Uuid; at: Timestamp; outcome: CallOutcome; note: string; duration_seconds?: number | null }
export interface Departure {
  tools: boolean; spares: boolean; repair_record: boolean; receipt: boolean;
  service_form: boolean; feedback_form: boolean; kit: boolean;
}
export interface Arrival {
  arrived_at: Timestamp | null;
  knock_started_at: Timestamp | null;
  door_answered: boolean;
  badge_shown: boolean;
  fault_point_verified: boolean;
  service_form_left: boolean;
  /** Later arrival times, logged beside the first (which stands); absent when none. */
  corrections?: ArrivalCorrection[];
}
export interface ArrivalCorrection { proposed: Timestamp; at: Timestamp }
export interface KitCheck {
  mat_cloth: boolean; cover_cloth: boolean; wiping_cloth: boolean; shoe_covers: boolean;
  missing_reason: string;
}
export interface Work {
  indoor: boolean; line_test: boolean; outdoor_line: boolean; replacement: boolean; drilling_wiring: boolean;
  fault_point: string; description: string; non_company_equipment: boolean;
}
export interface Replacement {
  id: Uuid; item: ReplacedItem; old_serial: string; new_serial: string;
  told_in_advance: boolean; consent: boolean;
}
/** What a fee line was priced at when recorded (absent on lines from before HQ kept the list). */
export interface PricedAt { list_version: number; name_zh: string; name_en: string; unit_price_fen: number }
export interface FeeLine { code: string; quantity: number; priced?: PricedAt | null }
export const PAYMENT_METHODS = ['cash', 'wechat', 'alipay', 'card', 'other'] as const;
export type PaymentMethod = (typeof PAYMENT_METHODS)[number];
/** The receipt (发票收据) for the visit's fees. */
export interface PaymentReceipt { receipt_no: string; amount_fen: number; method: PaymentMethod }
export interface Communicate { customer_type: CustomerType | null; needs: string; notes: string }
export interface Feedback { mot: number | null; opinion: string }
export interface Cleanup {
  site_checked: boolean; tools_packed: boolean; restored: boolean; rubbish_taken: boolean; splitter_checked: boolean;
}
/** A reminder: the technician's local time with its offset (RFC 3339),
 *  always inside the call windows once saved (core moves it there). */
export type LocalTime = string;
export interface LeadContact {
  id: Uuid; lead_id: Uuid; at: Timestamp; interest: Interest; note: string;
  next_follow_up_at: LocalTime | null;
}
export interface Lead {
  id: Uuid; product: string; interest: Interest; note: string;
  follow_up_at: LocalTime | null;
  /** Follow-up calls after the visit, oldest first (at most three). */
  contacts: LeadContact[];
}
/** How soon a lead's reminder falls (core's `leads::Due`). */
export type Due = 'now' | 'today' | 'later';
export interface LeadItem {
  job_id: Uuid; customer_name: string; phone: string; address: string;
  lead: Lead; due: Due | null;
}
/** The leads owed a call, due first; `due_count` is due now or today. */
export interface LeadList { leads: LeadItem[]; due_count: number }
export interface Reschedule { reason: RescheduleReason; note: string; new_start: Timestamp; new_end: Timestamp }
/** A support request as the visit keeps it (the job stays open). */
export interface RequestedSupport { problem: string; requested_at: Timestamp }
export interface Photo { id: Uuid; kind: PhotoKind; blob_hash: string; width: number; height: number; added_at: Timestamp }
export interface Signature { signed_content_hash: string; png_hash: string; width: number; height: number; signed_at: Timestamp }

export interface VisitRecord {
  job: Job;
  step: Step;
  call_logs: CallLog[];
  departure: Departure;
  arrival: Arrival;
  kit: KitCheck;
  work: Work;
  replacements: Replacement[];
  fees: FeeLine[];
  communicate: Communicate;
  feedback: Feedback;
  cleanup: Cleanup;
  leads: Lead[];
  photos: Photo[];
  signature: Signature | null;
  reschedule: Reschedule | null;
  completed_at: Timestamp | null;
  support_request: RequestedSupport | null;
  complaints: ComplaintRecord[];
  payment: PaymentReceipt | null;
}
/** A complaint taken on site (item 19): its owner, the promised reply time, and the callback once made. */
export interface ComplaintRecord {
  id: Uuid;
  taken_by: string;
  issue: string;
  reply_by: Timestamp;
  raised_at: Timestamp;
  callback: { at: Timestamp; result: string; satisfied: boolean } | null;
}
/** A complaint still owed its callback (the store's `OpenComplaint`). */
export interface OwedComplaint { job_id: Uuid; customer_name: string; phone: string; complaint: ComplaintRecord; overdue: boolean }

export interface ReplacementLine { item: ReplacedItem; old_serial: string; new_serial: string }
export interface FeeLineView {
  code: string; name_zh: string; name_en: string; quantity: number; unit_price_fen: number; line_total_fen: number;
}
/** What the customer signs: the form and their feedback, in layout `form_version`. */
export interface ServiceForm {
  form_version: number;
  job_id: Uuid;
  customer_name: string;
  address: string;
  job_type: JobType;
  sub_case: SubCase;
  fault_point: string;
  work_description: string;
  indoor: boolean;
  line_test: boolean;
  outdoor_line: boolean;
  replacement: boolean;
  drilling_wiring: boolean;
  replacements: ReplacementLine[];
  fees: FeeLineView[];
  total_fen: number;
  mot: number | null;
  opinion: string;
}

export type PunctualityKind = 'early' | 'on_time' | 'tight' | 'late';
export interface Punctuality { kind: PunctualityKind; minutes: number }
export interface MissingItem { code: string; label: string }

/** An earlier visit of the same job, as it stood when the next one began. */
export interface PastVisit { visit: number; record: VisitRecord; closed_at: Timestamp | null }

export interface VisitView {
  visit: VisitRecord;
  missing: MissingItem[];
  signature_valid: boolean;
  punctuality: Punctuality | null;
  service_form: ServiceForm;
  content_hash: string;
  /** Banned phrases in what the customer reads (core's `words`): a hint, not a refusal. */
  word_hints: WordHint[];
  /** When the confirm-by-phone call after an outdoor repair is due, while it is still to make. */
  confirm_call_due?: Timestamp;
}
/** A confirm-by-phone call still to make (the store's `ConfirmCall`). */
export interface ConfirmCall { job_id: Uuid; customer_name: string; phone: string; due: Timestamp; overdue: boolean }
export interface WordHint { field: 'fault_point' | 'description'; phrase: string; instead: string }

export interface CallScript { kind: CallKind; lines: string[] }
export interface PhoneGuide { greeting: string; scripts: CallScript[]; call_window: CallWindow; local_time: string }
export interface PriceItem { code: string; name_zh: string; name_en: string; unit_price_fen: number; retired: boolean }
/** HQ's price list as the last sync brought it. */
export interface PriceList { version: number; items: PriceItem[] }

/** Serde form of `Change` (adjacently tagged: type + data). */
export type Change =
  | { type: 'set_step'; data: Step }
  | { type: 'log_call'; data: CallLog }
  | { type: 'save_departure'; data: Departure }
  | { type: 'save_arrival'; data: Arrival }
  | { type: 'save_kit'; data: KitCheck }
  | { type: 'save_work'; data: Work }
  | { type: 'add_replacement'; data: Replacement }
  | { type: 'remove_replacement'; data: Uuid }
  | { type: 'set_fees'; data: FeeLine[] }
  | { type: 'save_communicate'; data: Communicate }
  | { type: 'save_feedback'; data: Feedback }
  | { type: 'save_cleanup'; data: Cleanup }
  | { type: 'add_lead'; data: Lead }
  | { type: 'remove_lead'; data: Uuid }
  | { type: 'remove_photo'; data: Uuid }
  | { type: 'reschedule'; data: Reschedule }
  | { type: 'complete' }
  | { type: 'request_support'; data: { problem: string } }
  | { type: 'raise_complaint'; data: { id: Uuid; taken_by: string; issue: string; reply_by: Timestamp } }
  | { type: 'log_complaint_callback'; data: { complaint_id: Uuid; result: string; satisfied: boolean } }
  | { type: 'log_lead_contact'; data: LeadContact }
  | { type: 'save_payment'; data: PaymentReceipt };

/** Every command rejects with this shape; `message` is already localized. */
export interface AppError { code: string; message: string }

export function toAppError(e: unknown): AppError {
  if (e && typeof e === 'object' && 'code' in e && 'message' in e) {
    const o = e as { code: unknown; message: unknown };
    return { code: String(o.code), message: String(o.message) };
  }
  if (e instanceof Error) return { code: 'internal', message: e.message };
  return { code: 'internal', message: String(e) };
}

async function call<T>(cmd: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(cmd, args);
  } catch (e) {
    throw toAppError(e);
  }
}

export type DocumentKind = 'pdf' | 'html';
/** A technical document the laptop holds (`doorstep_store::DocumentSummary`). */
export interface DocumentSummary {
  id: Uuid;
  /** Empty when HQ gave only the English title. */
  title_zh: string;
  /** Empty when HQ gave only the Chinese title. */
  title_en: string;
  kind: DocumentKind;
  version: number;
  size: number;
}

export interface Receipt { job_id: Uuid; server_time: Timestamp; content_hash: string }
export interface ConflictNotice { conflict_id: Uuid; job_id: Uuid; reason: 'cancelled' | 'reassigned' | 'unknown_job' | 'not_assigned' | 'impossible_time' | 'off_price_list' }
export type Resolution = 'accept_completion' | 'keep_cancelled';
/** A dispatcher's decision on a conflict, brought by a later pull. */
export interface ConflictDecision { resolution: Resolution; note: string; resolved_at: Timestamp }
/** What sync knows of one job: HQ's receipt, and a conflict HQ reported. */
export interface JobSyncState {
  receipt: Receipt | null;
  conflict: { reason: ConflictNotice['reason']; reported_at: Timestamp; decision: ConflictDecision | null } | null;
}
export interface NotSent { job_id: Uuid; code: string; reason: string }
export interface SyncSummary {
  jobs_pulled: number;
  jobs_removed: number;
  changes_pushed: number;
  blobs_sent: number;
  bytes_sent: number;
  receipts: Receipt[];
  conflicts: ConflictNotice[];
  not_sent: NotSent[];
  /** How far ahead of HQ's the laptop's clock runs (negative: behind), when over five minutes. */
  clock_skew_seconds: number | null;
  /** The customer of each job named above. */
  customers: Record<Uuid, string>;
}
export interface SyncProgress {
  phase: 'pull' | 'blobs' | 'push';
  items_done: number;
  items_total: number;
  bytes_done: number;
  bytes_total: number;
  eta_seconds: number | null;
}
export interface Enrollment { hq_url: string; device_id: Uuid; technician: string }
/** Why syncs have been failing, since when, and how many in a row. */
export interface SyncFailure { code: string; message: string; since: Timestamp; attempts: number }
export interface SyncStatus {
  enrollment: Enrollment | null;
  counts: { pending_changes: number; pending_jobs: number; receipts: number; conflicts: number };
  /** Why HQ refused this device's token, until it enrolls again. */
  refused: { code: 'device_revoked' | 'unauthorized'; hq_url: string | null } | null;
  running: boolean;
  default_hq_url: string | null;
  /** Set while syncs fail; cleared by one that goes through. */
  failure: SyncFailure | null;
}
/** What the background sync and "Sync now" report when they finish. */
export interface SyncOutcome { ok: boolean; code: string | null; message: string | null; summary: SyncSummary | null }

/** Why the local store is still locked at start (null once it is open). */
export interface LockState {
  code: string;
  /** A passphrase opens it; else `message` says what happened. */
  passphrase: boolean;
  /** No passphrase set yet: it is chosen (and typed twice) now. */
  first: boolean;
  /** Unreadable (its key is lost): it may be moved aside for a new store. */
  start_again: boolean;
  message: string;
}

export const ipc = {
  unlockState: (locale: Locale) => call<LockState | null>('unlock_state', { locale }),
  unlock: (passphrase: string, locale: Locale) => call<null>('unlock', { passphrase, locale }),
  /** Moves the unreadable store aside; returns the folder it was kept in. */
  startAgain: (locale: Locale) => call<string>('start_again', { locale }),
  appInfo: () => call<AppInfo>('app_info'),
  /** The first job list is on screen (the app logs how long its start took). */
  listShown: (pageMs: number, marks: [string, number][]) => call<null>('list_shown', { pageMs, pageMarks: marks }),
  setLocale: (locale: Locale) => call<null>('set_locale', { locale }),
  listJobs: (tab: Tab, query: string, after: ListCursor | null = null) =>
    call<JobPage>('list_jobs', { tab, query, after }),
  openJob: (jobId: Uuid) => call<VisitView>('open_job', { jobId }),
  closeJob: () => call<null>('close_job'),
  applyChange: (jobId: Uuid, change: Change) => call<VisitView>('apply_change', { jobId, change }),
  saveSignature: (jobId: Uuid, pngBase64: string, strokes: unknown) =>
    call<VisitView>('save_signature', { jobId, pngBase64, strokes }),
  async addPhoto(jobId: Uuid, kind: PhotoKind, bytes: Uint8Array): Promise<VisitView> {
    try {
      return await invoke<VisitView>('add_photo', bytes, { headers: { 'job-id': jobId, 'photo-kind': kind } });
    } catch (e) {
      throw toAppError(e);
    }
  },
  phoneGuide: (jobId: Uuid) => call<PhoneGuide>('phone_guide', { jobId }),
  confirmCalls: () => call<ConfirmCall[]>('confirm_calls'),
  openComplaints: () => call<OwedComplaint[]>('open_complaints'),
  priceList: () => call<PriceList>('price_list'),
  serviceReport: (jobId: Uuid) => call<string>('service_report', { jobId }),
  syncStatus: () => call<SyncStatus>('sync_status'),
  /** `privateCa`: the PEM text of the operator's CA, when HQ's certificate comes from one. */
  enroll: (hqUrl: string, code: string, privateCa: string | null) =>
    call<Enrollment>('enroll', { hqUrl, code, privateCa }),
  syncNow: () => call<SyncSummary>('sync_now'),
  cancelSync: () => call<null>('cancel_sync'),
  jobSyncState: (jobId: Uuid) => call<JobSyncState>('job_sync_state', { jobId }),
  pastVisits: (jobId: Uuid) => call<PastVisit[]>('past_visits', { jobId }),
  listLeads: () => call<LeadList>('list_leads'),
  customerStory: (jobId: Uuid) => call<CustomerStory | null>('customer_story', { jobId }),
  listDocuments: (query: string) => call<DocumentSummary[]>('list_documents', { query }),
  /** The document's bytes, as the store holds them. */
  documentContent: (documentId: Uuid) => call<ArrayBuffer>('document_content', { documentId }),
};

/** New record ids and timestamps, as the contract asks. */
export const newId = (): Uuid => crypto.randomUUID();
export const nowIso = (): Timestamp => new Date().toISOString();

/**
 * The URL a stored photo or signature loads from: the shell's own scheme
 * (src-tauri/src/blobs.rs), spelled per platform by Tauri. A blob is named
 * by its hash, so nothing needs keeping here: the web view fetches the
 * bytes when an image shows and may drop them once it no longer does.
 */
export const blobUrl = (hash: string): string => convertFileSrc(hash, 'doorstep-blob');

/** A stored photo's thumbnail, made by the shell at the size the job view
 * draws it: the web view holds what it shows decoded, and a full photo
 * would cost it seven times the memory. */
export const photoThumbUrl = (hash: string): string => `${blobUrl(hash)}?thumb`;
