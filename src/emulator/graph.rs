//! The emulator's Azure Resource Graph: `POST /providers/Microsoft.ResourceGraph/resources`,
//! evaluating the query with the small KQL evaluator over the tables of `graph_tables`, in
//! the subscriptions or management groups asked for (those the caller can read), with `$top` /
//! `$skip` / `$skipToken` paging, a per-user quota (`x-ms-user-quota-remaining`,
//! `x-ms-user-quota-resets-after`, 429 over it) and ARG's error shape.

use crate::emulator::EmulatorConfig;
use crate::emulator::graph_tables;
use crate::emulator::http::{ArmRequest, Reply};
use crate::emulator::kql;
use crate::emulator::state::{GraphRows, World};
use serde_json::{Map, Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub const GRAPH_API_VERSIONS: &[&str] = &["2024-04-01", "2022-10-01", "2021-03-01"];
const MAX_TOP: u64 = 1000;
const DEFAULT_TOP: u64 = 100;

/// How Resource Graph behaves (`--graph-*` flags).
#[derive(Debug, Clone, Copy)]
pub struct GraphConfig {
    /// Queries per window per user (0 = unlimited).
    pub quota: u32,
    pub window: Duration,
    /// Refuse every query: 403 (no access) or 409 (provider not registered).
    pub refusal: Option<u16>,
    /// Refuse (400) a query longer than this many characters (0 = no limit).
    pub max_query_chars: usize,
    /// Refuse (400) this share of the queries that check a list of ids (`id in~ (…)`), chosen
    /// by a hash of the query's text: the same query is always answered the same way, and a
    /// part of a refused one may pass.
    pub refuse_batches: f64,
}

impl Default for GraphConfig {
    fn default() -> Self {
        GraphConfig {
            quota: 15,
            window: Duration::from_secs(5),
            refusal: None,
            max_query_chars: 0,
            refuse_batches: 0.0,
        }
    }
}

/// Stored Resource Graph results kept at once, the least recently paged dropped first. A
/// service-aware audit pages five long queries (discovery, four service tables) at once beside
/// many one-page source checks: with 8 kept in the order they were made, the source checks
/// pushed the long queries out and every later page evaluated its query again (a second or
/// more each, while the world is locked), which real Resource Graph, paging from its stored
/// result, never does.
const KEPT_RESULTS: usize = 32;

pub use crate::emulator::state::GraphQuota;

impl GraphQuota {
    /// The stored rows of the query with this fingerprint, if still kept (now the most recently
    /// paged).
    pub(crate) fn result(&mut self, fingerprint: &str) -> Option<GraphRows> {
        let at = self.results.iter().position(|(f, _)| f == fingerprint)?;
        let kept = self.results.remove(at)?;
        let rows = kept.1.clone();
        self.results.push_back(kept);
        Some(rows)
    }

    /// Stores a query's rows, dropping the least recently paged beyond `KEPT_RESULTS`.
    pub(crate) fn keep_result(&mut self, fingerprint: String, rows: GraphRows) {
        self.results.retain(|(f, _)| *f != fingerprint);
        self.results.push_back((fingerprint, rows));
        if self.results.len() > KEPT_RESULTS {
            self.results.pop_front();
        }
    }

    /// Charges one query: `(allowed, remaining, resets_after)`.
    fn charge(&mut self, config: &GraphConfig) -> (bool, u32, Duration) {
        let now = Instant::now();
        let (start, used) = match self.window {
            Some((start, used)) if now.duration_since(start) < config.window => (start, used),
            _ => (now, 0),
        };
        let resets = config.window.saturating_sub(now.duration_since(start));
        if config.quota == 0 {
            return (true, u32::MAX, resets);
        }
        if used >= config.quota {
            self.window = Some((start, used));
            return (false, 0, resets);
        }
        self.window = Some((start, used + 1));
        (true, config.quota - used - 1, resets)
    }
}

/// `hh:mm:ss`, as ARG writes `x-ms-user-quota-resets-after`.
fn hms(d: Duration) -> String {
    let s = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

fn graph_error(status: u16, code: &str, message: &str, details: Value) -> Reply {
    Reply::json(
        status,
        json!({"error": {"code": code, "message": message, "details": details}}),
    )
}

pub fn handle(world: &mut World, config: &EmulatorConfig, req: &ArmRequest) -> Reply {
    if req.method != "POST" {
        return Reply::arm_error(
            405,
            "MethodNotAllowed",
            format!(
                "The requested resource does not support http method '{}'.",
                req.method
            ),
        );
    }
    let version = req.query.get("api-version").cloned().unwrap_or_default();
    if !GRAPH_API_VERSIONS.contains(&version.as_str()) {
        return Reply::arm_error(
            400,
            "NoRegisteredProviderFound",
            format!(
                "No registered resource provider found for location 'global' and API version '{version}' for type 'resources'. \
                 The supported api-versions are '{}'.",
                GRAPH_API_VERSIONS.join(", ")
            ),
        );
    }
    match config.graph.refusal {
        Some(403) => {
            return Reply::arm_error(
                403,
                "AuthorizationFailed",
                "The client 'user@example.com' does not have authorization to perform action 'Microsoft.ResourceGraph/resources/read'.",
            );
        }
        Some(_) => {
            return Reply::arm_error(
                409,
                "MissingSubscriptionRegistration",
                "The subscription is not registered to use namespace 'Microsoft.ResourceGraph'.",
            );
        }
        None => {}
    }
    let (allowed, remaining, resets) = world.graph_quota.charge(&config.graph);
    let reply = if allowed {
        refused_query(&config.graph, req).unwrap_or_else(|| answer(world, req))
    } else {
        graph_error(
            429,
            "RateLimiting",
            "Client application has been throttled and should not attempt to repeat the request until an amount of time has elapsed. \
             Please see https://aka.ms/resourcegraph-throttling for help.",
            json!([{"code": "RateLimiting", "message": "Please retry after the quota resets."}]),
        )
    };
    reply
        .header("x-ms-user-quota-remaining", remaining.to_string())
        .header("x-ms-user-quota-resets-after", hms(resets))
}

/// A query the configured faults refuse: too long, or a batch of ids picked to fail.
fn refused_query(config: &GraphConfig, req: &ArmRequest) -> Option<Reply> {
    let body: Value = serde_json::from_slice(req.body).ok()?;
    let query = body["query"].as_str()?;
    let len = query.chars().count();
    if config.max_query_chars > 0 && len > config.max_query_chars {
        return Some(invalid_query(format!(
            "The query is {len} characters long, over the limit of {}.",
            config.max_query_chars
        )));
    }
    // FNV-1a of the text, as a fraction of u64's range.
    let hash = query.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    let picked = (hash as f64 / u64::MAX as f64) < config.refuse_batches;
    (query.contains(" in~ (") && picked).then(|| {
        graph_error(
            400,
            "BadRequest",
            "The query could not be processed.",
            json!([{"code": "InternalServiceError", "message": "Refused by the emulator's --graph-refuse-batches."}]),
        )
    })
}

fn invalid_query(message: String) -> Reply {
    graph_error(
        400,
        "BadRequest",
        "Please provide below info when asking for support: the query is invalid.",
        json!([
            {"code": "InvalidQuery", "message": "Query is invalid. Please refer to the documentation for the Azure Resource Graph service and fix the error before retrying."},
            {"code": "ParserFailure", "message": message}
        ]),
    )
}

fn answer(world: &mut World, req: &ArmRequest) -> Reply {
    let (query, text, options, scope) = match understood(world, req) {
        Ok(parts) => parts,
        Err(reply) => return reply,
    };
    let top = options["$top"].as_u64().unwrap_or(DEFAULT_TOP);
    if !(1..=MAX_TOP).contains(&top) {
        return graph_error(
            400,
            "BadRequest",
            "$top must be between 1 and 1000.",
            json!([]),
        );
    }
    let fingerprint = crate::emulator::seed::stable_uuid(&format!("{text}|{scope:?}"));
    let skip = match options["$skipToken"].as_str() {
        Some(token) => match token
            .strip_suffix(&format!(":{fingerprint}"))
            .and_then(|n| n.parse::<usize>().ok())
        {
            Some(n) => n,
            None => {
                return graph_error(
                    400,
                    "BadRequest",
                    "The $skipToken is invalid for this query.",
                    json!([{"code": "InvalidSkipToken", "message": "Resend the query and scopes that produced the token."}]),
                );
            }
        },
        None => options["$skip"].as_u64().unwrap_or(0) as usize,
    };
    let stored = world.graph_quota.result(&fingerprint);
    let rows = match stored {
        Some(rows) if options["$skipToken"].is_string() => rows,
        _ => {
            let index = graph_tables::Index {
                ids: kql::Membership::leading_ids(&query),
                kind: kql::leading_type(&query),
            };
            let rows = Arc::new(kql::run(
                &query,
                graph_tables::rows(world, &query.table, &scope, index),
            ));
            world
                .graph_quota
                .keep_result(fingerprint.clone(), rows.clone());
            rows
        }
    };
    Reply::json(200, page(&rows, skip, top as usize, &fingerprint))
}

/// The request's query (parsed), its text, its options and the subscriptions in scope; or the
/// 400 Resource Graph answers for what the emulator does not understand.
fn understood(
    world: &World,
    req: &ArmRequest,
) -> Result<(kql::Query, String, Value, Vec<String>), Reply> {
    let body: Value = serde_json::from_slice(req.body)
        .map_err(|e| invalid_query(format!("the request body is not JSON: {e}")))?;
    let Some(text) = body["query"].as_str() else {
        return Err(invalid_query("the request has no 'query'".into()));
    };
    let query = kql::parse(text).map_err(|e| {
        invalid_query(format!(
            "the emulator does not understand {} (at character {} of the query)",
            e.message, e.position
        ))
    })?;
    if !graph_tables::TABLES
        .iter()
        .any(|t| t.eq_ignore_ascii_case(&query.table))
    {
        return Err(invalid_query(format!(
            "the table '{}' (this emulator serves {})",
            query.table,
            graph_tables::TABLES.join(", ")
        )));
    }
    let options = body["options"].clone();
    if let Some(format) = options["resultFormat"].as_str()
        && !format.eq_ignore_ascii_case("objectArray")
    {
        return Err(invalid_query(format!(
            "the resultFormat '{format}' (this emulator serves objectArray)"
        )));
    }
    let scope = scope(world, &body)?;
    Ok((query, text.to_string(), options, scope))
}

/// One page of the result: `top` rows from `skip`, and a `$skipToken` when more follow.
fn page(rows: &[Map<String, Value>], skip: usize, top: usize, fingerprint: &str) -> Value {
    let total = rows.len();
    let end = (skip + top).min(total);
    let data: Vec<Value> = rows
        .iter()
        .skip(skip)
        .take(end.saturating_sub(skip))
        .cloned()
        .map(Value::Object)
        .collect();
    let mut out = json!({
        "totalRecords": total,
        "count": data.len(),
        "resultTruncated": "false",
        "facets": [],
        "data": data,
    });
    if end < total {
        out["$skipToken"] = json!(format!("{end}:{fingerprint}"));
    }
    out
}

/// The lower-cased subscription ids the query covers (readable ones only, as ARG shows only
/// what the caller may read).
fn scope(world: &World, body: &Value) -> Result<Vec<String>, Reply> {
    let list = |key: &str| -> Vec<String> {
        body[key]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_ascii_lowercase)
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut wanted = list("subscriptions");
    for group in list("managementGroups") {
        let Some(mg) = world
            .management_groups
            .iter()
            .find(|m| m.name.eq_ignore_ascii_case(&group))
        else {
            return Err(graph_error(
                400,
                "BadRequest",
                &format!(
                    "The management group '{group}' was not found or the caller cannot read it."
                ),
                json!([{"code": "ManagementGroupNotFound", "message": group}]),
            ));
        };
        wanted.extend(mg.subscriptions.iter().map(|s| s.to_ascii_lowercase()));
    }
    let tenant = wanted.is_empty();
    Ok(world
        .subscriptions
        .iter()
        .filter(|s| s.readable)
        .map(|s| s.subscription_id.to_ascii_lowercase())
        .filter(|s| tenant || wanted.contains(s))
        .collect())
}
