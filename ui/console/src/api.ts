// The dispatcher API of doorstep-hq, typed. Every call goes to the same
// origin with the session cookie; every failure becomes an ApiError.
import type {
  CallOutcome, ComplaintRecord, CustomerStory, Due, Interest, Job, JobType, Lead, SubCase, ServiceForm, VipGrade,
  VisitRecord, RequestedSupport, Timestamp, Uuid,
} from '../../src/lib/ipc';

export type {
  CustomerStory, Due, Interest, Job, JobType, Lead, SubCase, ServiceForm, VipGrade, VisitRecord, RequestedSupport,
  Timestamp, Uuid,
};

export interface RowError { row: number; message: string }
export interface ApiError { status: number; code: string; message: string; errors?: RowError[] }
export interface Technician { id: Uuid; name: string }
/** The session itself is only in the HttpOnly cookie, out of scripts' reach. */
export interface LoginResponse { username: string; expires_at: Timestamp }
export interface DispatchedJob { job: Job; technician_id: Uuid | null }
export interface BoardColumn {
  technician: Technician | null; counts: Record<string, number>; jobs: Job[];
  /** Those of `jobs` past their repair-time target and not done (HQ decides). */
  past_target: Uuid[];
}
/** A day's board; the day is the operator's, in `time_zone`. */
export interface Board { date: string; time_zone: string; columns: BoardColumn[] }
/** A repair-time target: jobs of the type done within `hours` of the report. */
export interface RepairTarget { job_type: JobType; hours: number }
/** What the operator set at HQ. */
export interface OperatorSettings { time_zone: string; repair_targets: RepairTarget[] }
/** A job's repair time: reported, due, completed (seconds from report). */
export interface RepairTime {
  reported_at: Timestamp | null; due_by: Timestamp | null; completed_at: Timestamp | null;
  seconds_to_complete: number | null; past_target: boolean;
}
export interface TechRecord {
  record_key: string; kind: string; body: unknown; op_id: Uuid;
  device_time: Timestamp; server_time: Timestamp; removed: boolean;
}
export interface TimelineEntry {
  op_id: Uuid; device_id: Uuid; seq: number; kind: string;
  device_time: Timestamp; server_time: Timestamp; payload: unknown;
  /** Seconds the device's clock ran ahead of HQ's (negative: behind) when over five minutes. */
  clock_skew_seconds?: number;
}
/** One call a technician logged (item 20), and each technician's totals. */
export interface CallEntry {
  job_id: Uuid;
  customer_name: string;
  technician: Technician;
  at: Timestamp;
  outcome: CallOutcome;
  duration_seconds: number | null;
  note: string;
}
export interface TechnicianCalls { technician: Technician; calls: number; total_seconds: number }
export interface CallReview { calls: CallEntry[]; technicians: TechnicianCalls[]; truncated: boolean }
/** A complaint from site or HQ (item 19), flagged once its promised reply has passed. */
export interface ComplaintEntry {
  job_id: Uuid;
  customer_name: string;
  source: 'on_site' | 'hq';
  technician: Technician | null;
  complaint: ComplaintRecord;
  overdue: boolean;
}
/** A job awaiting support: open, and its technician asked. */
export interface SupportRequestEntry { job: Job; technician: Technician | null; request: RequestedSupport }
/** A lead in HQ's list: as the technician's app holds it, whom to call, how soon. */
export interface LeadEntry {
  lead: Lead; job_id: Uuid; customer_name: string; phone: string;
  technician: Technician | null; due: Due | null;
}
/** The leads list's filters (`GET /api/v1/leads`); the export takes the same. */
export interface LeadFilters { technician?: Uuid; interest?: Interest; due_before?: Timestamp; all?: boolean }
export function leadsQuery(f: LeadFilters): URLSearchParams {
  const q = new URLSearchParams();
  if (f.technician) q.set('technician', f.technician);
  if (f.interest) q.set('interest', f.interest);
  if (f.due_before) q.set('due_before', f.due_before);
  if (f.all) q.set('all', 'true');
  return q;
}
export interface Receipt { job_id: Uuid; server_time: Timestamp; content_hash: string }
export type Resolution = 'accept_completion' | 'keep_cancelled';
export interface Conflict {
  id: Uuid; job_id: Uuid; device_id: Uuid; technician_id: Uuid; reason: 'cancelled' | 'reassigned' | 'unknown_job' | 'not_assigned' | 'impossible_time' | 'off_price_list';
  op_id: Uuid; created_at: Timestamp; resolved_at: Timestamp | null; resolution: Resolution | null;
  note: string | null; resolved_by: string | null;
}
export interface JobDetail {
  job: Job; technician: Technician | null; records: TechRecord[]; timeline: TimelineEntry[];
  receipt: Receipt | null; conflicts: Conflict[]; visit: VisitRecord; service_form: ServiceForm;
  signature_valid: boolean; dispatcher_actions: AuditEntry[]; repair: RepairTime;
}
/** A code just issued: shown once; `id` names it for revoking. */
export interface IssuedCode { id: Uuid; code: string; technician_id: Uuid; expires_at: Timestamp }
/** A code not used and not expired (HQ keeps only its hash). */
export interface OutstandingCode { id: Uuid; technician_id: Uuid; expires_at: Timestamp }
export interface DispatcherAccount { id: Uuid; username: string; created_at: Timestamp; disabled_at: Timestamp | null }
export const AUDIT_ACTIONS = [
  'login', 'login_failed', 'create_job', 'import', 'assign', 'reschedule', 'cancel',
  'resolve_conflict', 'issue_code', 'revoke_code', 'revoke_device', 'create_technician',
  'create_dispatcher', 'disable_dispatcher', 'enable_dispatcher', 'change_password',
  'set_vip_grade', 'create_revisit',
  'publish_document', 'retire_document',
  'set_repair_target',
  'add_price_item', 'change_price_item', 'retire_price_item',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];
/** One entry of the audit log; `actor` null is HQ's command line. */
export interface AuditEntry {
  id: number; at: Timestamp; actor: string | null; action: AuditAction; job_id: Uuid | null;
  technician_id: Uuid | null; device_id: Uuid | null; username: string | null; detail: string;
}
export interface AuditPage { entries: AuditEntry[]; next_before: number | null }
export interface AuditFilters {
  actor?: string; action?: AuditAction | ''; job?: string; from?: Timestamp | null; to?: Timestamp | null;
  before?: number | null; limit?: number;
}
export interface DeviceInfo {
  id: Uuid; name: string; technician_id: Uuid; enrolled_at: Timestamp;
  revoked_at: Timestamp | null; last_seq: number;
}
/** A technical document HQ publishes to laptops (`records::Document`). */
export interface DocumentRecord {
  id: Uuid; title_zh: string; title_en: string; kind: 'pdf' | 'html'; version: number;
  content_hash: string; size: number; state: 'published' | 'retired';
  published_at: Timestamp; retired_at: Timestamp | null;
}
export interface NewJob {
  customer_name: string; phone: string; address: string; job_type: JobType; sub_case: SubCase;
  fault_description: string; window_start: Timestamp; window_end: Timestamp; technician_id: Uuid | null;
  /** The operator's account number: HQ matches the customer by it, or by phone. */
  account_number?: string | null;
}
/** A customer as HQ holds them. */
export interface CustomerRecord {
  id: Uuid; account_number: string | null; name: string; phone: string; address: string;
  vip_grade: VipGrade; created_at: Timestamp;
}
export interface CustomerDetail { customer: CustomerRecord; story: CustomerStory; jobs: Job[] }
export const VIP_GRADES: VipGrade[] = ['regular', 'silver', 'gold', 'diamond'];

export function isApiError(e: unknown): e is ApiError {
  return typeof e === 'object' && e !== null && 'code' in e && 'message' in e;
}

async function request<T>(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<T> {
  const raw = body instanceof Blob;
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      credentials: 'same-origin',
      headers: body === undefined ? {} : { 'Content-Type': contentType },
      body: body === undefined ? undefined : raw || typeof body === 'string' ? (body as BodyInit) : JSON.stringify(body),
    });
  } catch {
    throw { status: 0, code: 'network', message: 'HQ cannot be reached' } satisfies ApiError;
  }
  const text = await response.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (!response.ok) {
    const e = (json ?? {}) as Partial<ApiError>;
    throw {
      status: response.status,
      code: typeof e.code === 'string' ? e.code : 'http_' + response.status,
      message: typeof e.message === 'string' ? e.message : text.slice(0, 200),
      errors: e.errors,
    } satisfies ApiError;
  }
  return json as T;
}

const enc = encodeURIComponent;

export type { PriceItem, PriceList } from '../../src/lib/ipc';
import type { PriceList } from '../../src/lib/ipc';

export const api = {
  login: (username: string, password: string) =>
    request<LoginResponse>('POST', '/api/v1/login', { username, password }),
  logout: () => request<null>('POST', '/api/v1/logout'),
  technicians: () => request<Technician[]>('GET', '/api/v1/technicians'),
  createTechnician: (name: string) => request<Technician>('POST', '/api/v1/technicians', { name }),
  board: (date: string) => request<Board>('GET', `/api/v1/board?date=${enc(date)}`),
  settings: () => request<OperatorSettings>('GET', '/api/v1/settings'),
  setRepairTarget: (jobType: JobType, hours: number | null) =>
    request<OperatorSettings>('POST', '/api/v1/settings/repair-targets', { job_type: jobType, hours }),
  createJob: (job: NewJob) => request<DispatchedJob>('POST', '/api/v1/jobs', job),
  importCsv: (csv: string) => request<{ created: Uuid[] }>('POST', '/api/v1/jobs/import', csv, 'text/csv'),
  job: (id: Uuid) => request<JobDetail>('GET', `/api/v1/jobs/${enc(id)}`),
  assign: (id: Uuid, technicianId: Uuid) =>
    request<DispatchedJob>('POST', `/api/v1/jobs/${enc(id)}/assign`, { technician_id: technicianId }),
  cancel: (id: Uuid) => request<DispatchedJob>('POST', `/api/v1/jobs/${enc(id)}/cancel`),
  reschedule: (id: Uuid, start: Timestamp, end: Timestamp) =>
    request<DispatchedJob>('POST', `/api/v1/jobs/${enc(id)}/reschedule`, { window_start: start, window_end: end }),
  supportRequests: () => request<SupportRequestEntry[]>('GET', '/api/v1/support-requests'),
  complaints: (openOnly: boolean) =>
    request<ComplaintEntry[]>('GET', `/api/v1/complaints${openOnly ? '?open=true' : ''}`),
  takeComplaint: (jobId: Uuid, issue: string, replyBy: Timestamp) =>
    request<ComplaintRecord>('POST', `/api/v1/jobs/${enc(jobId)}/complaints`, { issue, reply_by: replyBy }),
  callBackComplaint: (id: Uuid, result: string, satisfied: boolean) =>
    request<ComplaintRecord>('POST', `/api/v1/complaints/${enc(id)}/callback`, { result, satisfied }),
  calls: (from: Timestamp, to: Timestamp, technician: Uuid | null) =>
    request<CallReview>(
      'GET',
      `/api/v1/calls?from=${enc(from)}&to=${enc(to)}${technician ? `&technician=${enc(technician)}` : ''}`,
    ),
  leads: (f: LeadFilters) => request<LeadEntry[]>('GET', `/api/v1/leads?${leadsQuery(f)}`),
  /** Where the browser downloads the same leads as CSV (the cookie goes along). */
  leadsExportUrl: (f: LeadFilters, lang: string) => {
    const q = leadsQuery(f);
    q.set('lang', lang);
    return `/api/v1/leads/export?${q}`;
  },
  conflicts: (all = false) => request<Conflict[]>('GET', `/api/v1/conflicts${all ? '?all=true' : ''}`),
  resolve: (id: Uuid, resolution: Resolution, note: string) =>
    request<Conflict>('POST', `/api/v1/conflicts/${enc(id)}/resolve`, { resolution, note }),
  issueCode: (technicianId: Uuid) =>
    request<IssuedCode>('POST', '/api/v1/enrollment-codes', { technician_id: technicianId }),
  outstandingCodes: () => request<OutstandingCode[]>('GET', '/api/v1/enrollment-codes'),
  revokeCode: (id: Uuid) => request<null>('POST', `/api/v1/enrollment-codes/${enc(id)}/revoke`),
  dispatchers: () => request<DispatcherAccount[]>('GET', '/api/v1/dispatchers'),
  disableDispatcher: (username: string) =>
    request<DispatcherAccount>('POST', `/api/v1/dispatchers/${enc(username)}/disable`),
  enableDispatcher: (username: string) =>
    request<DispatcherAccount>('POST', `/api/v1/dispatchers/${enc(username)}/enable`),
  changePassword: (current: string, next: string) =>
    request<null>('POST', '/api/v1/account/password', { current_password: current, new_password: next }),
  audit: (f: AuditFilters) => {
    const q = new URLSearchParams();
    if (f.actor?.trim()) q.set('actor', f.actor.trim());
    if (f.action) q.set('action', f.action);
    if (f.job?.trim()) q.set('job', f.job.trim());
    if (f.from) q.set('from', f.from);
    if (f.to) q.set('to', f.to);
    if (f.before != null) q.set('before', String(f.before));
    if (f.limit) q.set('limit', String(f.limit));
    const query = q.toString();
    return request<AuditPage>('GET', `/api/v1/audit${query ? '?' + query : ''}`);
  },
  devices: () => request<DeviceInfo[]>('GET', '/api/v1/devices'),
  revoke: (id: Uuid) => request<DeviceInfo>('POST', `/api/v1/devices/${enc(id)}/revoke`),
  blobUrl: (hash: string) => `/api/v1/blobs/${enc(hash)}`,
  customers: (q: string) => request<CustomerRecord[]>('GET', `/api/v1/customers?q=${enc(q)}`),
  customer: (id: Uuid) => request<CustomerDetail>('GET', `/api/v1/customers/${enc(id)}`),
  setVipGrade: (id: Uuid, grade: VipGrade) =>
    request<CustomerRecord>('POST', `/api/v1/customers/${enc(id)}/vip-grade`, { vip_grade: grade }),
  revisit: (id: Uuid, start: Timestamp, end: Timestamp, technicianId: Uuid | null) =>
    request<DispatchedJob>('POST', `/api/v1/jobs/${enc(id)}/revisit`, {
      window_start: start, window_end: end, technician_id: technicianId,
    }),
  documents: () => request<DocumentRecord[]>('GET', '/api/v1/documents'),
  /** The file is the body; the titles go in the query. */
  publishDocument: (file: File, titleZh: string, titleEn: string, replaces: Uuid | null) => {
    const q = new URLSearchParams();
    if (titleZh.trim()) q.set('title_zh', titleZh.trim());
    if (titleEn.trim()) q.set('title_en', titleEn.trim());
    const path = replaces ? `/api/v1/documents/${enc(replaces)}/versions` : '/api/v1/documents';
    return request<DocumentRecord>('POST', `${path}?${q}`, file, 'application/octet-stream');
  },
  retireDocument: (id: Uuid) => request<DocumentRecord>('POST', `/api/v1/documents/${enc(id)}/retire`),
  priceList: () => request<PriceList>('GET', '/api/v1/price-list'),
  addPriceItem: (item: NewPriceItem) => request<PriceList>('POST', '/api/v1/price-list', item),
  changePriceItem: (code: string, change: Omit<NewPriceItem, 'code'>) =>
    request<PriceList>('PUT', `/api/v1/price-list/${enc(code)}`, change),
  retirePriceItem: (code: string) => request<PriceList>('POST', `/api/v1/price-list/${enc(code)}/retire`),
};

/** A new item for the price list; prices in fen. */
export interface NewPriceItem { code: string; name_zh: string; name_en: string; unit_price_fen: number }
