//! `/v1/spend`: the spend audit.

use actix_web::{route, web, HttpRequest, HttpResponse};

use super::{attachment, deadline, heavy, json_response, to_json};
use crate::api::error::{ApiError, Problem};
use crate::api::links::link_audit;
use crate::api::params::{bounded, list, SpendParams, DEFAULT_SPEND_GROUPS, MAX_SPEND_GROUPS};
use crate::api::state::AppState;
use crate::search::SearchRequest;
use crate::spend::{spend_audit, Grouping, ReportQuery};

/// Spend by group: ad-level sums and report-level figures side by side.
#[utoipa::path(
    get,
    tag = "spend",
    path = "/v1/spend",
    params(SpendParams),
    responses(
        (status = 200, description = "`origin`, `total_ads`, `group_by`, `ordered_by` (by spend when all of it is in one currency, else by number of ads; weeks and months by period) and `groups` (ad-level: summed lower and upper bounds of the matching ads' published ranges, per currency); `reports` (report-level: the figures of the platforms' spend reports of `report_kind`, per currency, with the reports and rows they come from); `conversion` (with `convert_to` and imported ECB rates: each figure converted on its own, labelled as an estimate with the rate's date; otherwise why there is none). With `format=csv`: the same as CSV for spreadsheets"),
        (status = 400, description = "A parameter is unknown or not allowed", body = Problem, content_type = "application/problem+json")
    )
)]
#[route("/v1/spend", method = "GET", method = "HEAD")]
pub async fn spend(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<SpendParams>,
) -> Result<HttpResponse, ApiError> {
    super::through_cache(
        &state,
        &req,
        spend_totaled(&req, &state, query.into_inner()),
    )
    .await
}

async fn spend_totaled(
    req: &HttpRequest,
    state: &AppState,
    mut params: SpendParams,
) -> Result<HttpResponse, ApiError> {
    let (query, filters) = params.take_filters()?;
    let group_by: Grouping = params
        .group_by
        .ok_or_else(|| ApiError::BadParameter {
            param: "group_by".into(),
            message: format!("`group_by` is required: {}", Grouping::listed()),
        })?
        .parse()?;
    let csv = match params.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(other) => {
            return Err(ApiError::BadParameter {
                param: "format".into(),
                message: format!("`{other}` is not `json` or `csv`"),
            })
        }
    };
    let limit =
        bounded("limit", params.limit, 1, MAX_SPEND_GROUPS)?.unwrap_or(DEFAULT_SPEND_GROUPS);
    if let Some(code) = &params.convert_to {
        if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err(ApiError::BadParameter {
                param: "convert_to".into(),
                message: format!("`{code}` is not an ISO 4217 currency code such as EUR"),
            });
        }
    }
    let mut request = SearchRequest {
        query,
        filters,
        ..SearchRequest::default()
    };
    let report =
        ReportQuery::from_filters(&request.filters, params.report_kind, list(params.period));
    let (deadline, _cancel) = deadline();
    request.deadline = deadline;
    let archive = state.archive.clone();
    let convert_to = params.convert_to;
    // Built and serialized off the async workers: a response of a thousand
    // groups is large.
    let (body, group_by) = heavy(
        state,
        req,
        move |parallel| -> Result<(Vec<u8>, Grouping), ApiError> {
            request.parallel = parallel;
            let mut audit = spend_audit(
                &archive,
                &request,
                &report,
                group_by,
                limit,
                convert_to.as_deref(),
            )?;
            link_audit(&mut audit, &request.query);
            let mut body = Vec::new();
            if csv {
                crate::spend::audit::write_csv(&audit, &mut body)
                    .map_err(|e| ApiError::Internal(e.into()))?;
            } else {
                body = to_json(&audit)?;
            }
            Ok((body, audit.group_by))
        },
    )
    .await?;
    if csv {
        return Ok(HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .insert_header(attachment(&format!("spend-by-{group_by}.csv")))
            .body(body));
    }
    Ok(json_response(body))
}
