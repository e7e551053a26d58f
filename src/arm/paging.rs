//! ARM list pages: `{"value":[…],"nextLink":…}`: the page parser (pure, unit-tested) and the
//! client's loop that follows `nextLink` verbatim until it is absent, within page and size limits.

use crate::arm::client::ArmClient;
use crate::error::{Error, Result};
use reqwest::Method;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use url::Url;

/// The most pages one listing follows: far more than any real list (100 items a page would be
/// 100,000 bindings, clusters or subscriptions); a server that always sends a new `nextLink`
/// ends here with an error instead of running for ever.
pub const MAX_PAGES: usize = 1000;

/// The most answer bytes one listing gathers in memory (`list`); streamed listings
/// (`for_each_page`) hand each page on and are bounded by [`MAX_PAGES`] only.
pub const MAX_LIST_BYTES: usize = 16 * 1024 * 1024;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Page<T> {
    /// Required, as ARM's list schema says: a page without it (`{}`) is not "empty and last",
    /// which would silently drop the rest of a list (and a prune of it would delete what was
    /// dropped).
    pub value: Vec<T>,
    #[serde(default)]
    pub next_link: Option<String>,
}

/// Parses one page. An empty or null `nextLink` ends the listing; an empty `value` does not;
/// a missing `value` is an error.
pub fn parse_page<T: DeserializeOwned>(body: &[u8]) -> Result<Page<T>, String> {
    let mut page: Page<T> =
        serde_json::from_slice(body).map_err(|e| format!("not a list page: {e}"))?;
    if page
        .next_link
        .as_deref()
        .is_some_and(|l| l.trim().is_empty())
    {
        page.next_link = None;
    }
    Ok(page)
}

impl ArmClient {
    /// GETs a list, following `nextLink` verbatim until it is absent; empty pages included.
    pub async fn list<T: DeserializeOwned>(&self, url: Url) -> Result<Vec<T>> {
        let mut items = Vec::new();
        self.pages(url, Some(MAX_LIST_BYTES), |page: Vec<T>| items.extend(page))
            .await?;
        Ok(items)
    }

    /// Like `list`, handing each page to `sink` as it arrives (memory stays flat).
    pub async fn for_each_page<T: DeserializeOwned>(
        &self,
        url: Url,
        sink: impl FnMut(Vec<T>),
    ) -> Result<()> {
        self.pages(url, None, sink).await
    }

    async fn pages<T: DeserializeOwned>(
        &self,
        url: Url,
        max_bytes: Option<usize>,
        mut sink: impl FnMut(Vec<T>),
    ) -> Result<()> {
        let mut next = Some(url);
        let mut seen = std::collections::HashSet::new();
        let mut bytes = 0usize;
        while let Some(url) = next.take() {
            let resp = self.send(Method::GET, url, None).await?;
            bytes += resp.body.len();
            if seen.len() >= MAX_PAGES || max_bytes.is_some_and(|max| bytes > max) {
                return Err(Error::UnexpectedResponse {
                    request: resp.request,
                    detail: format!(
                        "the list goes on past {MAX_PAGES} pages or {} MiB; stopping (no real list is that long)",
                        max_bytes.unwrap_or(MAX_LIST_BYTES) / (1024 * 1024)
                    ),
                });
            }
            let page = parse_page::<T>(&resp.body).map_err(|detail| Error::UnexpectedResponse {
                request: resp.request.clone(),
                detail,
            })?;
            sink(page.value);
            if let Some(link) = page.next_link {
                if !seen.insert(link.clone()) {
                    return Err(Error::UnexpectedResponse {
                        request: resp.request,
                        detail: format!("nextLink repeats ({link}); stopping to avoid a loop"),
                    });
                }
                next = Some(self.server_link(&link, &resp.request)?);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn pages_end_when_next_link_is_absent_null_or_empty() {
        let p: Page<Value> = parse_page(br#"{"value":[1,2]}"#).unwrap();
        assert_eq!((p.value.len(), p.next_link), (2, None));
        let p: Page<Value> = parse_page(br#"{"value":[],"nextLink":null}"#).unwrap();
        assert_eq!(p.next_link, None);
        let p: Page<Value> = parse_page(br#"{"value":[],"nextLink":""}"#).unwrap();
        assert_eq!(p.next_link, None);
    }

    #[test]
    fn an_empty_page_can_still_continue() {
        let p: Page<Value> =
            parse_page(br#"{"value":[],"nextLink":"https://h/x?$skiptoken=1"}"#).unwrap();
        assert!(p.value.is_empty());
        assert_eq!(p.next_link.as_deref(), Some("https://h/x?$skiptoken=1"));
    }

    #[test]
    fn a_missing_value_is_an_error_as_is_garbage() {
        assert!(parse_page::<Value>(b"{}").is_err());
        assert!(parse_page::<Value>(br#"{"nextLink":null}"#).is_err());
        assert!(parse_page::<Value>(br#"{"value":null}"#).is_err());
        assert!(parse_page::<Value>(b"<html>").is_err());
        assert!(parse_page::<Value>(br#"{"value":{}}"#).is_err());
    }
}
