//! The emulator's side doors: the `/_emulator/` control API (recorded requests, the world as a
//! state file, fault statistics, scripted answers for the next requests) and the sign-in
//! endpoints (Entra token endpoint, managed identity, Azure Pipelines OIDC).

use crate::emulator::http::Answer;
use crate::emulator::http::Reply;
use crate::emulator::identity;
use crate::emulator::instance::Emulator;
use crate::emulator::services::ServicesSeed;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::Response;
use hyper::body::Frame;
use serde_json::json;
use std::collections::HashMap;

pub use crate::emulator::instance::Canned;

impl Emulator {
    /// The sign-in side, unauthenticated as Entra's and ARM's are: the cloud's metadata, OpenID
    /// discovery, the token endpoint and the managed-identity endpoint; `None` for any other path.
    pub(super) fn sign_in(
        &self,
        received: &crate::emulator::http::Received,
    ) -> Option<Response<Full<Bytes>>> {
        let (method, path, raw_query, body) = (
            received.method.as_str(),
            received.path.as_str(),
            received.raw_query.as_str(),
            &received.body[..],
        );
        let identity_header = received.header("x-identity-header");
        let authorization_present = received.header("authorization").is_some();
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        let lifetime = self.config.token_lifetime;
        let base = self.base_url(received);
        let (reply, recorded) = match (method, segments.as_slice()) {
            ("GET", ["metadata", "endpoints"]) => {
                let query: HashMap<String, String> =
                    url::form_urlencoded::parse(raw_query.as_bytes())
                        .into_owned()
                        .collect();
                let reply = identity::metadata_endpoints(
                    &base,
                    query.get("api-version").map(String::as_str),
                );
                (
                    reply,
                    json!({"method": method, "path": path, "query": raw_query}),
                )
            }
            ("GET", [tenant, version @ .., ".well-known", "openid-configuration"])
                if version.is_empty() || version == ["v2.0"] =>
            {
                let reply = identity::openid_configuration(&base, tenant, !version.is_empty());
                (
                    reply,
                    json!({"method": method, "path": path, "query": raw_query}),
                )
            }
            ("POST", [tenant, "oauth2", "v2.0", "token"]) => {
                let (reply, fields) = identity::token_endpoint(tenant, body, lifetime);
                (
                    reply,
                    json!({"method": method, "path": path, "query": raw_query, "signIn": fields}),
                )
            }
            ("POST", ["oidc", "token"]) => {
                // Azure Pipelines' OIDC endpoint: the system access token buys an assertion.
                let reply = if authorization_present {
                    let (assertion, _) =
                        identity::issue_token("pipelines", "service-connection", 600);
                    Reply::json(200, json!({"oidcToken": assertion}))
                } else {
                    Reply::json(
                        401,
                        json!({"message": "TF400813: The user is not authorized to access this resource."}),
                    )
                };
                (
                    reply,
                    json!({"method": method, "path": path, "query": raw_query, "signIn": {"systemAccessToken": authorization_present}}),
                )
            }
            ("GET", ["msi", "token"]) => {
                let reply =
                    self.managed_identity_token(raw_query, identity_header.as_deref(), lifetime);
                (
                    reply,
                    json!({"method": method, "path": path, "query": raw_query, "signIn": {"identityHeader": identity_header.is_some()}}),
                )
            }
            _ => return None,
        };
        self.record(recorded);
        Some(self.respond(reply, None))
    }

    /// The managed identity endpoint's token, for the world's (first subscription's) tenant.
    fn managed_identity_token(
        &self,
        raw_query: &str,
        identity_header: Option<&str>,
        lifetime: i64,
    ) -> Reply {
        let query: HashMap<String, String> = url::form_urlencoded::parse(raw_query.as_bytes())
            .into_owned()
            .collect();
        let tenant = self
            .world
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .subscriptions
            .first()
            .map(|s| s.tenant_id.clone())
            .unwrap_or_default();
        identity::managed_identity_endpoint(&query, identity_header, &tenant, lifetime)
    }

    /// `GET|DELETE /_emulator/requests`, `GET /_emulator/state`, `GET /_emulator/stats`,
    /// `POST /_emulator/script` (a JSON list of canned answers), `GET|PUT /_emulator/services`
    /// (the services that use clusters), `GET|PUT /_emulator/permissions` (the caller's, per
    /// subscription), `GET /_emulator/expectations` (a generated fleet's).
    pub(super) fn control(&self, method: &str, what: &str, body: &[u8]) -> Response<Full<Bytes>> {
        let reply = match (method, what) {
            ("POST", "script") => match serde_json::from_slice::<Vec<Canned>>(body) {
                Ok(canned) => {
                    self.script
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .extend(canned);
                    Reply::empty(204)
                }
                Err(e) => Reply::arm_error(
                    400,
                    "InvalidScript",
                    format!("expected a list of {{status, headers, body, drop}}: {e}"),
                ),
            },
            ("POST", "activity") => {
                match serde_json::from_slice::<Vec<crate::emulator::activity::PastOperation>>(body)
                    .map_err(|e| e.to_string())
                    .and_then(|past| {
                        let mut world = self.world.lock().unwrap_or_else(|p| p.into_inner());
                        crate::emulator::activity::seed_past(&mut world, past)
                    }) {
                    Ok(n) => Reply::json(200, json!({"added": n})),
                    Err(e) => Reply::arm_error(
                        400,
                        "InvalidActivity",
                        format!(
                            "expected a list of {{binding, operation, daysAgo, token, outcome}}: {e}"
                        ),
                    ),
                }
            }
            ("GET", "requests") => Reply::json(200, self.requests_json()),
            ("DELETE", "requests") => {
                self.requests
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .clear();
                Reply::empty(204)
            }
            ("GET", "state") => Reply::json(200, self.state_json()),
            ("GET", "services") => {
                let world = self.world.lock().unwrap_or_else(|p| p.into_inner());
                Reply::json(
                    200,
                    serde_json::to_value(&world.services).unwrap_or_default(),
                )
            }
            ("PUT", "services") => self.replace_services(body),
            ("GET" | "PUT", "permissions") => self.permissions(method, body),
            ("GET", "expectations") => match self.expectations_json() {
                Some(expected) => Reply::json(200, expected),
                None => Reply::arm_error(
                    404,
                    "NotFound",
                    "this world has no expectations: only a fleet generated with --fleet-services has",
                ),
            },
            ("GET", "stats") => {
                let (seen, injected) = self.config.faults.counts();
                let recorded = self
                    .requests
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .len();
                let connections = self.connections.load(std::sync::atomic::Ordering::Relaxed);
                Reply::json(
                    200,
                    json!({"requests": recorded, "faultsConsidered": seen, "faultsInjected": injected, "connections": connections}),
                )
            }
            _ => Reply::arm_error(
                404,
                "NotFound",
                format!("no emulator control endpoint '{method} /_emulator/{what}'"),
            ),
        };
        self.respond(reply, None)
    }
}

impl Emulator {
    /// `GET /_emulator/permissions` (every subscription's, as its permissions API answers) and
    /// `PUT` (`{subscriptionId: [{actions, notActions}] | null}`; 204, or 400 and nothing changed).
    fn permissions(&self, method: &str, body: &[u8]) -> Reply {
        let mut world = self.world.lock().unwrap_or_else(|p| p.into_inner());
        if method == "GET" {
            return Reply::json(200, crate::emulator::permissions::all(&world));
        }
        match crate::emulator::permissions::replace(&mut world, body) {
            Ok(()) => Reply::empty(204),
            Err(e) => Reply::arm_error(
                400,
                "InvalidPermissions",
                format!("expected {{subscriptionId: [{{actions, notActions}}] | null}}: {e}"),
            ),
        }
    }

    /// `PUT /_emulator/services`: the world's services become the body's (a state file's
    /// `services` section), checked first; 204, or 400 saying what is wrong.
    fn replace_services(&self, body: &[u8]) -> Reply {
        let services = serde_json::from_slice::<ServicesSeed>(body)
            .map_err(|e| e.to_string())
            .and_then(|s| s.check().map(|()| s));
        match services {
            Ok(services) => {
                self.world
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .services = services;
                Reply::empty(204)
            }
            Err(e) => Reply::arm_error(
                400,
                "InvalidServices",
                format!("expected a state file's services section: {e}"),
            ),
        }
    }
}

/// Builds the scripted answer for the `n`th request it serves.
pub(super) async fn canned_answer(canned: Canned, n: u64) -> Answer {
    if canned.hang {
        std::future::pending::<()>().await;
    }
    if canned.drop {
        return Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "scripted: connection dropped",
        ));
    }
    let serial = n.to_string();
    let mut builder = Response::builder().status(canned.status);
    for (name, value) in &canned.headers {
        builder = builder.header(name, value.replace("{n}", &serial));
    }
    let head = Bytes::from(canned.body.replace("{n}", &serial));
    let body = if canned.extra_body_bytes == 0 {
        Full::new(head).boxed()
    } else {
        const CHUNK: usize = 64 * 1024;
        let filler = Bytes::from(vec![b' '; CHUNK]);
        let (full, rest) = (
            canned.extra_body_bytes / CHUNK as u64,
            (canned.extra_body_bytes % CHUNK as u64) as usize,
        );
        let chunks = std::iter::once(head)
            .chain(std::iter::repeat_n(filler.clone(), full as usize))
            .chain(std::iter::once(filler.slice(..rest)))
            .map(|b| Ok(Frame::data(b)));
        StreamBody::new(futures_util::stream::iter(chunks)).boxed()
    };
    Ok(builder
        .body(body)
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new()).boxed())))
}
