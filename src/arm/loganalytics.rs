//! Log Analytics' query API (`POST {endpoint}/v1/workspaces/{customerId}/query`), the second
//! audience of the one request path: its endpoint and token scope per cloud, the query sent
//! through `ArmClient::execute_for`, its tables read into rows, its errors (`BadArgumentError`
//! with the inner errors that say what is wrong, 403, 404) and partial results decoded.

use crate::arm::client::ArmClient;
use crate::arm::cloud::Audience;
use crate::error::{Error, Result};
use reqwest::Method;
use serde_json::{Map, Value, json};
use std::time::Instant;
use url::Url;

/// The Microsoft.OperationalInsights api-version used to read a workspace's `customerId`.
pub const WORKSPACE_API_VERSION: &str = "2023-09-01";

/// A query's rows (column name → value), and the service's note when the result is partial.
#[derive(Debug)]
pub struct QueryResult {
    pub rows: Vec<Map<String, Value>>,
    /// `(code) message` of a `PartialError`: the rows are not all there are.
    pub partial: Option<String>,
}

impl ArmClient {
    /// Where Log Analytics' query API is (see `transport::log_analytics_from_env`).
    pub fn with_log_analytics(mut self, endpoint: Option<Url>) -> Self {
        self.log_analytics = endpoint;
        self
    }

    /// `{Log Analytics}{path}`; an error (before any request) when this cloud has none.
    pub fn log_analytics_url(&self, path: &str) -> Result<Url> {
        let endpoint = self
            .log_analytics
            .as_ref()
            .ok_or_else(|| no_log_analytics(self))?;
        let mut url = endpoint.clone();
        let base = url.path().trim_end_matches('/').to_string();
        url.set_path(&format!("{base}{path}"));
        Ok(url)
    }

    /// The token scope of an audience: ARM's, or the cloud's Log Analytics resource.
    pub(super) fn scope_for(&self, audience: Audience) -> Result<String> {
        match audience {
            Audience::Arm => Ok(self.cloud.scope()),
            Audience::LogAnalytics => self
                .cloud
                .log_analytics()
                .map(|resource| format!("{resource}/.default"))
                .ok_or_else(|| no_log_analytics(self)),
        }
    }
}

fn no_log_analytics(client: &ArmClient) -> Error {
    Error::Config {
        message: format!(
            "the cloud {} names no Log Analytics endpoint, so --workspace cannot be read",
            client.cloud.name()
        ),
        hint: Some(
            "add endpoint_log_analytics_resource_id to the cloud's clouds.config section (az cloud update --endpoint-log-analytics-resource-id …)"
                .into(),
        ),
    }
}

/// Runs `query` over `timespan` (ISO 8601, e.g. `P365D`) in the workspace `customer_id`.
pub async fn query(
    client: &ArmClient,
    customer_id: &str,
    query: &str,
    timespan: &str,
) -> Result<QueryResult> {
    let url = client.log_analytics_url(&format!("/v1/workspaces/{customer_id}/query"))?;
    let body = json!({"query": query, "timespan": timespan});
    let resp = client
        .execute_for(
            Audience::LogAnalytics,
            Method::POST,
            url,
            Some(&body),
            &[],
            Instant::now(),
        )
        .await?;
    if !(200..300).contains(&resp.status) {
        return Err(query_error(client, &resp));
    }
    let answer: Value = resp.json()?;
    let partial = answer
        .get("error")
        .filter(|e| e.is_object())
        .map(|e| format!("({}) {}", text(&e["code"], "PartialError"), messages(e)));
    let rows = rows_of(&answer).ok_or_else(|| Error::UnexpectedResponse {
        request: resp.request.clone(),
        detail: "the answer has no tables[0] with columns and rows".into(),
    })?;
    Ok(QueryResult { rows, partial })
}

/// The first table's rows as maps, or `None` when the answer is not the documented shape.
fn rows_of(answer: &Value) -> Option<Vec<Map<String, Value>>> {
    let table = answer["tables"].get(0)?;
    let names: Vec<&str> = table["columns"]
        .as_array()?
        .iter()
        .map(|c| c["name"].as_str())
        .collect::<Option<_>>()?;
    table["rows"]
        .as_array()?
        .iter()
        .map(|row| {
            let cells = row.as_array()?;
            Some(
                names
                    .iter()
                    .zip(cells)
                    .map(|(n, v)| (n.to_string(), v.clone()))
                    .collect(),
            )
        })
        .collect()
}

fn text<'a>(v: &'a Value, default: &'a str) -> &'a str {
    v.as_str().filter(|s| !s.is_empty()).unwrap_or(default)
}

/// An error's message with its inner errors' messages (and `details`), which say what is wrong:
/// `BadArgumentError`'s own message is only "The request had some invalid properties".
fn messages(error: &Value) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut at = Some(error);
    while let Some(e) = at {
        if let Some(m) = e["message"].as_str().filter(|m| !m.is_empty())
            && !parts.iter().any(|p| p == m)
        {
            parts.push(m.to_string());
        }
        for detail in e["details"].as_array().into_iter().flatten() {
            if let Some(m) = detail["message"].as_str()
                && !parts.iter().any(|p| p == m)
            {
                parts.push(m.to_string());
            }
        }
        at = e.get("innererror").filter(|i| i.is_object());
    }
    parts.join(": ")
}

/// A refused query: the service's code and every message it gave, as an ARM error (404: exit 3).
fn query_error(client: &ArmClient, resp: &crate::arm::client::ArmResponse) -> Error {
    let Error::Arm(mut error) = client.error_of(resp) else {
        return client.error_of(resp);
    };
    if let Ok(body) = serde_json::from_slice::<Value>(&resp.body)
        && body["error"].is_object()
    {
        error.message = crate::arm::error::cap_message(messages(&body["error"]));
    }
    error.hint = match resp.status {
        401 => Some(format!(
            "Log Analytics refused the token: it must be for {} (with AKS_TRUSTEDACCESS_ACCESS_TOKEN, give one in AKS_TRUSTEDACCESS_LOGANALYTICS_ACCESS_TOKEN)",
            client.cloud.log_analytics().unwrap_or("Log Analytics")
        )),
        403 => Some("reading a workspace needs Log Analytics Reader (or Reader) on it".into()),
        404 => Some(
            "check --workspace: the workspace's id (customerId, a GUID) or its ARM resource id"
                .into(),
        ),
        _ => error.hint.take(),
    };
    Error::Arm(error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inner_errors_say_what_is_wrong() {
        let e = json!({"code": "BadArgumentError", "message": "The request had some invalid properties",
            "innererror": {"code": "SyntaxError", "message": "A recognition error occurred in the query.",
                "innererror": {"code": "SYN0002", "message": "Query could not be parsed at 'x' on line [1,4]"}}});
        assert_eq!(
            messages(&e),
            "The request had some invalid properties: A recognition error occurred in the query.: Query could not be parsed at 'x' on line [1,4]"
        );
        let partial = json!({"code": "PartialError", "message": "There were some errors when processing your query.",
            "details": [{"code": "EngineError", "message": "Query result set has exceeded the internal data size limit"}]});
        assert!(messages(&partial).ends_with("internal data size limit"));
    }

    #[test]
    fn tables_become_rows_by_column_name() {
        let answer = json!({"tables": [{"name": "PrimaryResult",
            "columns": [{"name": "a", "type": "string"}, {"name": "b", "type": "long"}],
            "rows": [["x", 1], ["y", 2]]}]});
        let rows = rows_of(&answer).unwrap();
        assert_eq!(rows[1]["a"], "y");
        assert_eq!(rows[0]["b"], 1);
        assert!(rows_of(&json!({"tables": []})).is_none());
    }
}
