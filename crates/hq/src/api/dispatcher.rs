//! The console's API: enrollment codes, devices, technicians, jobs, the
//! board, customers, conflicts, blob downloads, the audit log. Every route needs a
//! dispatcher session, and acts for that dispatcher (`Hq::by`), so the
//! audit log names them.

use axum::extract::State;
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use doorstep_core::wire::{ConflictId, DeviceId, EnrollmentCodeRequest};
use doorstep_core::{CustomerId, JobId, RecordId};

use super::extract::{Dispatcher, JsonBody, PathParam, QueryParam};
use crate::dto::{
    AssignRequest, AuditQuery, BoardQuery, CallQuery, ComplaintCallbackRequest, ComplaintsQuery,
    ConflictsQuery, CustomerQuery, LeadsQuery, NewComplaint, NewJob, NewPriceItem, NewTechnician,
    PriceItemChange, RepairTargetChange, RescheduleRequest, ResolveRequest, RevisitRequest,
    VipGradeRequest,
};
use crate::error::HqResult;
use crate::service::Hq;

pub(super) async fn get_blob(
    State(hq): State<Hq>,
    Dispatcher(_): Dispatcher,
    PathParam(hash): PathParam<String>,
) -> HqResult<impl IntoResponse> {
    let bytes = hq.blob(&hash).await?;
    Ok((
        [(CONTENT_TYPE, HeaderValue::from_static(sniff_mime(&bytes)))],
        bytes,
    ))
}

fn sniff_mime(bytes: &[u8]) -> &'static str {
    if bytes.starts_with(b"\x89PNG") {
        "image/png"
    } else if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
        "image/jpeg"
    } else if bytes.starts_with(b"[") || bytes.starts_with(b"{") {
        "application/json"
    } else {
        "application/octet-stream"
    }
}

pub(super) async fn issue_code(
    State(hq): State<Hq>,
    Dispatcher(dispatcher): Dispatcher,
    JsonBody(request): JsonBody<EnrollmentCodeRequest>,
) -> HqResult<impl IntoResponse> {
    Ok((
        StatusCode::CREATED,
        Json(
            hq.by(&dispatcher)
                .issue_enrollment_code(request.technician_id)
                .await?,
        ),
    ))
}

pub(super) async fn outstanding_codes(
    State(hq): State<Hq>,
    Dispatcher(_): Dispatcher,
) -> HqResult<impl IntoResponse> {
    Ok(Json(hq.outstanding_codes().await?))
}

pub(super) async fn revoke_code(
    State(hq): State<Hq>,
    Dispatcher(dispatcher): Dispatcher,
    PathParam(id): PathParam<uuid::Uuid>,
) -> HqResult<impl IntoResponse> {
    hq.by(&dispatcher).revoke_code(id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(super) async fn devices(
    State(hq): State<Hq>,
    Dispatcher(_): Dispatcher,
) -> HqResult<impl IntoResponse> {
    Ok(Json(hq.devices().await?))
}

pub(super) async fn revoke(
    State(hq): State<Hq>,
    Dispatcher(dispatcher): Dispatcher,
    PathParam(id): PathParam<DeviceId>,
) -> HqResult<impl IntoResponse> {
    Ok(Json(hq.by(&dispatcher).revoke_device(id).await?))
}

pub(super) async fn technicians(
    State(hq): State<Hq>,
    Dispatcher(_): Dispatcher,
) -> HqResult<impl IntoResponse> {
    Ok(Json(hq.technicians().await?))
}

pub(super) async fn create_technician(
    State(hq): State<Hq>,
    Dispatcher(dispatcher): Dispatcher,
    JsonBody(request): JsonBody<NewTechnician>,
) -> HqResult<impl IntoResponse> {
    Ok((
        StatusCode::CREATED,
        Json(hq.by(&dispatcher).create_technician(&request.name).await?),
    ))
}

pub(super) async fn create_job(
    State(hq): State<Hq>,
    Dispatcher(dispatcher): Dispatcher,
    JsonBody(request): JsonBody<NewJob>,
) -> HqResult<impl IntoResponse> {
    Ok((
        StatusCode::CREATED,
        Json(hq.by(&dispatcher).create_job(request).await?),
    ))
}

pub(super) async fn job_detail(
    State(hq): State<Hq>,
    Dispatcher(_): Dispatcher,
    PathParam(id): PathParam<JobId>,
) -> HqResult<impl IntoResponse> {
    Ok(Json(hq.job_detail(id).await?))
}

pub(super) async fn assign(
    State(hq): State<Hq>,
    Dispatcher(dispatcher): Dispatcher,
    PathParam(id): PathParam<JobId>,
    JsonBody(request): JsonBody<AssignRequest>,
) -> HqResult<impl IntoResponse> {
    Ok(Json(
        hq.by(&dispatcher).assign(id, request.technician_id).await?,
    ))
}

pub(super) async fn cancel(
    State(hq): State<Hq>,
    Dispatcher(dispatcher): Dispatcher,
    PathParam(id): PathParam<JobId>,
) -> HqResult<impl IntoResponse> {
    Ok(Json(hq.by(&dispatcher).cancel(id).await?))
}

pub(super) async fn reschedule(
    State(hq): State<Hq>,
    Dispatcher(dispatcher): Dispatcher,
    PathParam(id): PathParam<JobId>,
    JsonBody(request): JsonBody<RescheduleRequest>,
) -> HqResult<impl IntoResponse> {
    Ok(Json(
        hq.by(&dispatcher)
            .reschedule(id, request.window_start, request.window_end)
            .await?,
    ))
}

pub(super) async fn revisit(
    State(hq): State<Hq>,
    Dispatcher(dispatcher): Dispatcher,
    PathParam(id): PathParam<JobId>,
    JsonBody(request): JsonBody<RevisitRequest>,
) -> HqResult<impl IntoResponse> {
    Ok((
        StatusCode::CREATED,
        Json(hq.by(&dispatcher).create_revisit(id, request).await?),
    ))
}

pub(super) async fn customers(
    State(hq): State<Hq>,
    Dispatcher(_): Dispatcher,
    QueryParam(query): QueryParam<CustomerQuery>,
) -> HqResult<impl IntoResponse> {
    Ok(Json(hq.find_customers(&query.q).await?))
}

pub(super) async fn customer_detail(
    State(hq): State<Hq>,
    Dispatcher(_): Dispatcher,
    PathParam(id): PathParam<CustomerId>,
) -> HqResult<impl IntoResponse> {
    Ok(Json(hq.customer_detail(id).await?))
}

pub(super) async fn set_vip_grade(
    State(hq): State<Hq>,
    Dispatcher(dispatcher): Dispatcher,
    PathParam(id): PathParam<CustomerId>,
    JsonBody(request): JsonBody<VipGradeRequest>,
) -> HqResult<impl IntoResponse> {
    Ok(Json(
        hq.by(&dispatcher)
            .set_vip_grade(id, request.vip_grade)
            .await?,
    ))
}

pub(super) async fn board(
    State(hq): State<Hq>,
    Dispatcher(_): Dispatcher,
    QueryParam(query): QueryParam<BoardQuery>,
) -> HqResult<impl IntoResponse> {
    Ok(Json(hq.board(query.date).await?))
}

pub(super) async fn settings(
    State(hq): State<Hq>,
    Dispatcher(_): Dispatcher,
) -> HqResult<impl IntoResponse> {
    Ok(Json(hq.operator_settings().await?))
}

pub(super) async fn set_repair_target(
    State(hq): State<Hq>,
    Dispatcher(dispatcher): Dispatcher,
    JsonBody(request): JsonBody<RepairTargetChange>,
) -> HqResult<impl IntoResponse> {
    Ok(Json(hq.by(&dispatcher).set_repair_target(request).await?))
}

pub(super) async fn support_requests(
    State(hq): State<Hq>,
    Dispatcher(_): Dispatcher,
) -> HqResult<impl IntoResponse> {
    Ok(Json(hq.support_requests().await?))
}

pub(super) async fn leads(
    State(hq): State<Hq>,
    Dispatcher(_): Dispatcher,
    QueryParam(query): QueryParam<LeadsQuery>,
) -> HqResult<impl IntoResponse> {
    Ok(Json(hq.leads(&query).await?))
}

/// The same list as a CSV file to download.
pub(super) async fn leads_export(
    State(hq): State<Hq>,
    Dispatcher(_): Dispatcher,
    QueryParam(query): QueryParam<LeadsQuery>,
) -> HqResult<impl IntoResponse> {
    let csv = hq.leads_csv(&query).await?;
    Ok((
        [
            (
                CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            ),
            (
                CONTENT_DISPOSITION,
                HeaderValue::from_static("attachment; filename=\"leads.csv\""),
            ),
        ],
        csv,
    ))
}

pub(super) async fn conflicts(
    State(hq): State<Hq>,
    Dispatcher(_): Dispatcher,
    QueryParam(query): QueryParam<ConflictsQuery>,
) -> HqResult<impl IntoResponse> {
    Ok(Json(hq.conflicts(!query.all).await?))
}

pub(super) async fn resolve(
    State(hq): State<Hq>,
    Dispatcher(dispatcher): Dispatcher,
    PathParam(id): PathParam<ConflictId>,
    JsonBody(request): JsonBody<ResolveRequest>,
) -> HqResult<impl IntoResponse> {
    Ok(Json(
        hq.by(&dispatcher)
            .resolve_conflict(id, request.resolution, &request.note)
            .await?,
    ))
}

pub(super) async fn audit(
    State(hq): State<Hq>,
    Dispatcher(_): Dispatcher,
    QueryParam(query): QueryParam<AuditQuery>,
) -> HqResult<impl IntoResponse> {
    Ok(Json(hq.audit(query).await?))
}

pub(super) async fn calls(
    State(hq): State<Hq>,
    Dispatcher(_): Dispatcher,
    QueryParam(query): QueryParam<CallQuery>,
) -> HqResult<impl IntoResponse> {
    Ok(Json(hq.calls(query).await?))
}

pub(super) async fn take_complaint(
    State(hq): State<Hq>,
    Dispatcher(dispatcher): Dispatcher,
    PathParam(id): PathParam<JobId>,
    JsonBody(request): JsonBody<NewComplaint>,
) -> HqResult<impl IntoResponse> {
    Ok((
        StatusCode::CREATED,
        Json(hq.by(&dispatcher).take_complaint(id, request).await?),
    ))
}

pub(super) async fn call_back_complaint(
    State(hq): State<Hq>,
    Dispatcher(dispatcher): Dispatcher,
    PathParam(id): PathParam<RecordId>,
    JsonBody(request): JsonBody<ComplaintCallbackRequest>,
) -> HqResult<impl IntoResponse> {
    Ok(Json(
        hq.by(&dispatcher).call_back_complaint(id, request).await?,
    ))
}

pub(super) async fn complaints(
    State(hq): State<Hq>,
    Dispatcher(_): Dispatcher,
    QueryParam(query): QueryParam<ComplaintsQuery>,
) -> HqResult<impl IntoResponse> {
    Ok(Json(hq.complaints(query).await?))
}

pub(super) async fn price_list(
    State(hq): State<Hq>,
    Dispatcher(_): Dispatcher,
) -> HqResult<impl IntoResponse> {
    Ok(Json(hq.price_list().await?))
}

pub(super) async fn add_price_item(
    State(hq): State<Hq>,
    Dispatcher(dispatcher): Dispatcher,
    JsonBody(item): JsonBody<NewPriceItem>,
) -> HqResult<impl IntoResponse> {
    Ok((
        StatusCode::CREATED,
        Json(hq.by(&dispatcher).add_price_item(item).await?),
    ))
}

pub(super) async fn change_price_item(
    State(hq): State<Hq>,
    Dispatcher(dispatcher): Dispatcher,
    PathParam(code): PathParam<String>,
    JsonBody(change): JsonBody<PriceItemChange>,
) -> HqResult<impl IntoResponse> {
    Ok(Json(
        hq.by(&dispatcher).change_price_item(&code, change).await?,
    ))
}

pub(super) async fn retire_price_item(
    State(hq): State<Hq>,
    Dispatcher(dispatcher): Dispatcher,
    PathParam(code): PathParam<String>,
) -> HqResult<impl IntoResponse> {
    Ok(Json(hq.by(&dispatcher).retire_price_item(&code).await?))
}
